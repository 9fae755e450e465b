#include "providers/llm.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/json.hpp"
#include "providers/http.hpp"
#include "providers/tool.hpp"

namespace eventide::providers {

namespace {

// Whole numbers as integers ("temperature":0), so request bodies read like hand-written ones.
json::value number(double d) {
  if (d == std::floor(d) && std::fabs(d) < 9e15)
    return json::value(static_cast<int64_t>(d));
  return json::value(d);
}

json::value messages_json(const std::vector<chat_message>& messages, json::allocator& a) {
  json::value list(rapidjson::kArrayType);
  for (const auto& m : messages) {
    json::value item(rapidjson::kObjectType);
    item.AddMember("role", json::str(m.role, a), a);
    item.AddMember("content", json::str(m.content, a), a);
    list.PushBack(item, a);
  }
  return list;
}

std::string body_start(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 200))
    out += (c == '\n' || c == '\r') ? ' ' : c;
  return body.size() > 200 ? out + "..." : out;
}

outcome<std::vector<float>> vector_of(const json::value* v, const std::string& who,
                                      const char* field, const std::string& body) {
  if (!v || !v->IsArray() || v->Empty())
    return fail(who + ": reply has no non-empty '" + field + "' array: " + body_start(body));
  std::vector<float> out;
  out.reserve(v->Size());
  for (const auto& x : v->GetArray()) {
    if (!x.IsNumber())
      return fail(who + ": '" + field + "' holds a non-number: " + body_start(body));
    out.push_back(static_cast<float>(x.GetDouble()));
  }
  return out;
}

int token_count(const json::value& root, const char* path) {
  const json::value* v = json::find_path(root, path);
  return v && v->IsInt() ? v->GetInt() : -1;
}

// Shared plumbing: JSON POSTs through resilient_http with the provider's circuit key.
class http_llm_client : public llm_client {
 public:
  http_llm_client(llm_endpoint endpoint, std::shared_ptr<resilient_http> http)
      : endpoint_(std::move(endpoint)), http_(std::move(http)) {
    endpoint_.url = without_trailing_slash(endpoint_.url);
  }

  std::string model() const override { return endpoint_.model; }
  std::string embedding_model() const override { return endpoint_.embedding_model; }

 protected:
  struct parsed_reply {
    json::document doc;
    std::string body; // raw, for error messages
  };

  // The parsed JSON reply of a POST, or a failure naming this client.
  outcome<parsed_reply> post(const std::string& path, const std::string& body,
                               const std::string& model, int64_t deadline_ms) {
    http_request request;
    request.method = "POST";
    request.url = endpoint_.url + path;
    request.headers = {{"Content-Type", "application/json"}};
    if (!endpoint_.api_key.empty())
      request.headers.emplace_back("Authorization", "Bearer " + endpoint_.api_key);
    request.body = body;
    request.connect_timeout_ms = endpoint_.connect_timeout_ms;
    request.timeout_ms = endpoint_.timeout_ms;
    std::string who = name() + " (" + model + ")";
    auto response = http_->call(name() + "/" + model, std::move(request), deadline_ms);
    if (!response)
      return fail(who + ": " + response.error());
    auto doc = json::parse(response->body);
    if (!doc)
      return fail(who + ": reply is not JSON (" + doc.error() + "): " + body_start(response->body));
    if (!doc->IsObject())
      return fail(who + ": reply is not a JSON object: " + body_start(response->body));
    return parsed_reply{std::move(doc).value(), std::move(response->body)};
  }

  // The chat answer and token usage of a reply; the providers differ only in their paths.
  outcome<llm_reply> chat_reply(const parsed_reply& reply, const char* content_path,
                                const char* prompt_tokens_path, const char* completion_tokens_path,
                                int64_t start) {
    const json::value* content = json::find_path(reply.doc, content_path);
    if (!content || !content->IsString())
      return fail(describe(*this) + ": reply has no " + content_path + ": " + body_start(reply.body));
    llm_reply out;
    out.text.assign(content->GetString(), content->GetStringLength());
    out.provider = name();
    out.model = endpoint_.model;
    out.prompt_tokens = token_count(reply.doc, prompt_tokens_path);
    out.completion_tokens = token_count(reply.doc, completion_tokens_path);
    out.ms = http_->now_ms() - start;
    return out;
  }

  llm_endpoint endpoint_;
  std::shared_ptr<resilient_http> http_;
};

class ollama_client final : public http_llm_client {
 public:
  using http_llm_client::http_llm_client;
  std::string name() const override { return "ollama"; }

  outcome<llm_reply> chat(const chat_request& request, int64_t deadline_ms) override {
    json::document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("model", json::str(endpoint_.model, a), a);
    body.AddMember("messages", messages_json(request.messages, a), a);
    body.AddMember("stream", false, a);
    if (request.json_output)
      body.AddMember("format", "json", a);
    json::value options(rapidjson::kObjectType);
    options.AddMember("temperature", number(request.temperature), a);
    body.AddMember("options", options, a);

    int64_t start = http_->now_ms();
    auto reply = post("/api/chat", json::dump(body), endpoint_.model, deadline_ms);
    if (!reply)
      return std::move(reply).take_failure();
    return chat_reply(*reply, "message.content", "prompt_eval_count", "eval_count", start);
  }

  outcome<std::vector<float>> embed(const std::string& text, int64_t deadline_ms) override {
    json::document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("model", json::str(endpoint_.embedding_model, a), a);
    body.AddMember("prompt", json::str(text, a), a);
    auto reply = post("/api/embeddings", json::dump(body), endpoint_.embedding_model, deadline_ms);
    if (!reply)
      return std::move(reply).take_failure();
    return vector_of(json::find_path(reply->doc, "embedding"),
                     name() + " (" + endpoint_.embedding_model + ")", "embedding", reply->body);
  }
};

class openai_client final : public http_llm_client {
 public:
  openai_client(llm_endpoint endpoint, std::shared_ptr<resilient_http> http)
      : http_llm_client(std::move(endpoint), std::move(http)) {
    // Accept "https://api.openai.com" and "https://api.openai.com/v1" alike.
    if (endpoint_.url.size() >= 3 && endpoint_.url.compare(endpoint_.url.size() - 3, 3, "/v1") == 0)
      endpoint_.url.resize(endpoint_.url.size() - 3);
  }
  std::string name() const override { return "openai"; }

  outcome<llm_reply> chat(const chat_request& request, int64_t deadline_ms) override {
    json::document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("model", json::str(endpoint_.model, a), a);
    body.AddMember("messages", messages_json(request.messages, a), a);
    body.AddMember("temperature", number(request.temperature), a);
    if (request.json_output) {
      json::value format(rapidjson::kObjectType);
      format.AddMember("type", "json_object", a);
      body.AddMember("response_format", format, a);
    }

    int64_t start = http_->now_ms();
    auto reply = post("/v1/chat/completions", json::dump(body), endpoint_.model, deadline_ms);
    if (!reply)
      return std::move(reply).take_failure();
    return chat_reply(*reply, "choices[0].message.content", "usage.prompt_tokens",
                      "usage.completion_tokens", start);
  }

  outcome<std::vector<float>> embed(const std::string& text, int64_t deadline_ms) override {
    json::document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    body.AddMember("model", json::str(endpoint_.embedding_model, a), a);
    body.AddMember("input", json::str(text, a), a);
    auto reply = post("/v1/embeddings", json::dump(body), endpoint_.embedding_model, deadline_ms);
    if (!reply)
      return std::move(reply).take_failure();
    return vector_of(json::find_path(reply->doc, "data[0].embedding"),
                     name() + " (" + endpoint_.embedding_model + ")", "data[0].embedding",
                     reply->body);
  }
};

} // namespace

std::unique_ptr<llm_client> make_ollama_client(llm_endpoint endpoint,
                                               std::shared_ptr<resilient_http> http) {
  return std::make_unique<ollama_client>(std::move(endpoint), std::move(http));
}

std::unique_ptr<llm_client> make_openai_client(llm_endpoint endpoint,
                                               std::shared_ptr<resilient_http> http) {
  return std::make_unique<openai_client>(std::move(endpoint), std::move(http));
}

std::string describe(const llm_client& client) {
  return client.name() + " (" + client.model() + ")";
}

outcome<std::string> load_prompt(const std::string& file, const std::string& dir) {
  std::string path = (dir.empty() ? resource_root() + "/prompts" : dir) + "/" + file;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail("cannot read prompt " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text.compare(first, 4, "<!--") == 0) {
    auto end = text.find("-->", first);
    if (end == std::string::npos)
      return fail("prompt " + path + ": unterminated <!-- comment");
    text.erase(0, end + 3);
    text.erase(0, text.find_first_not_of("\r\n"));
  }
  return text;
}

std::string render_prompt(const std::string& templ,
                          const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  std::size_t pos = 0;
  while (pos < templ.size()) {
    auto open = templ.find("{{", pos);
    if (open == std::string::npos)
      break;
    auto close = templ.find("}}", open + 2);
    if (close == std::string::npos)
      break;
    std::string name = templ.substr(open + 2, close - open - 2);
    const std::string* value = nullptr;
    for (const auto& [key, v] : vars)
      if (key == name)
        value = &v;
    out.append(templ, pos, open - pos);
    if (value) {
      out += *value;
      pos = close + 2;
    } else {
      out += "{{"; // not ours: copy it and go on scanning right after the braces
      pos = open + 2;
    }
  }
  out.append(templ, pos, std::string::npos);
  return out;
}

outcome<std::string> extract_json_object(const std::string& reply) {
  for (auto start = reply.find('{'); start != std::string::npos; start = reply.find('{', start + 1)) {
    // Find the brace that closes this one, skipping braces inside strings.
    int depth = 0;
    bool in_string = false, escaped = false;
    std::size_t end = std::string::npos;
    for (std::size_t i = start; i < reply.size() && end == std::string::npos; ++i) {
      char c = reply[i];
      if (in_string) {
        if (escaped)
          escaped = false;
        else if (c == '\\')
          escaped = true;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        end = i;
      }
    }
    if (end == std::string::npos)
      continue;
    std::string candidate = reply.substr(start, end - start + 1);
    auto doc = json::parse(candidate);
    if (doc && doc->IsObject())
      return candidate;
  }
  return fail("reply contains no JSON object: " + body_start(reply));
}

} // namespace eventide::providers
