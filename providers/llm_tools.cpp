#include "providers/llm_tools.hpp"
#include "core/text.hpp"
#include "providers/tool_args.hpp"

#include <algorithm>
#include <exception>
#include <optional>

#include "core/json.hpp"
#include "providers/offline_tools.hpp"

namespace eventide::providers {

using core::trim;

namespace {

constexpr const char* no_answer_sentence = "does not answer this question";
constexpr std::size_t rag_retrieved_chunks = 4;

void add_string_list(json::document& d, const char* key, const std::vector<std::string>& items) {
  auto& a = d.GetAllocator();
  json::value list(rapidjson::kArrayType);
  for (const auto& item : items)
    list.PushBack(json::str(item, a), a);
  d.AddMember(json::value(key, a), list, a);
}

// "tokens": {"prompt": n, "completion": m} with the counts the server reported, if any.
void add_tokens(json::document& d, int prompt, int completion) {
  if (prompt < 0 && completion < 0)
    return;
  auto& a = d.GetAllocator();
  json::value tokens(rapidjson::kObjectType);
  if (prompt >= 0)
    tokens.AddMember("prompt", prompt, a);
  if (completion >= 0)
    tokens.AddMember("completion", completion, a);
  d.AddMember("tokens", tokens, a);
}

// An offline tool's result labelled with the provider that answered and earlier failures.
tool_output label_offline(tool_output out, const std::string& model,
                          const std::vector<std::string>& errors) {
  if (!out.ok)
    return out;
  auto doc = json::parse(out.result_json);
  if (!doc || !doc->IsObject())
    return out;
  auto& a = doc->GetAllocator();
  doc->AddMember("provider", "offline", a);
  doc->AddMember("model", json::str(model, a), a);
  if (!errors.empty())
    add_string_list(*doc, "providerErrors", errors);
  return tool_output::success(json::dump(*doc));
}

// Every link failed: transient, so the orchestrator retries later (a provider may recover).
tool_output chain_failed(const std::string& tool, const std::vector<std::string>& errors) {
  return tool_output::transient_error(tool + ": every provider failed: "
                                      + (errors.empty() ? "the chain is empty" : core::join(errors, "; ")));
}

// --- generalChat ----------------------------------------------------------------------------

class llm_chat_tool final : public tool {
 public:
  llm_chat_tool(llm_chain chain, std::vector<std::string> product_names, llm_tool_options options)
      : chain_(std::move(chain)), product_names_(core::join(product_names, ", ")),
        options_(std::move(options)), offline_(make_offline_chat_tool()) {}

  std::string name() const override { return "generalChat"; }

  tool_output invoke(const std::string& args_json) override {
    try {
      return run(args_json);
    } catch (const std::exception& e) {
      return tool_output::permanent_error("generalChat failed: " + std::string(e.what()));
    }
  }

 private:
  tool_output run(const std::string& args_json) {
    auto args = parse_tool_args("generalChat", args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    auto message = json::get_string(*args, "message");
    if (!message)
      return tool_output::permanent_error("generalChat: missing required string arg 'message'");

    std::vector<std::string> errors;
    for (const auto& link : chain_) {
      if (!link.client) {
        auto out = offline_->invoke(args_json);
        if (out.ok)
          return label_offline(std::move(out), "rule-based", errors);
        errors.push_back("offline: " + out.error);
        continue;
      }
      auto templ = load_prompt("general_chat.md", options_.prompts_dir);
      if (!templ) {
        errors.push_back(describe(*link.client) + ": " + templ.error());
        continue;
      }
      chat_request request;
      request.messages = {
          {"system", render_prompt(*templ, {{"message", *message}, {"product_names", product_names_}})},
          {"user", *message}};
      auto reply = link.client->chat(request);
      if (!reply) {
        errors.push_back(reply.error());
        continue;
      }
      std::string answer = trim(reply->text);
      if (answer.empty()) {
        errors.push_back(describe(*link.client) + ": empty answer");
        continue;
      }
      json::document out(rapidjson::kObjectType);
      auto& a = out.GetAllocator();
      out.AddMember("answer", json::str(answer, a), a);
      out.AddMember("provider", json::str(reply->provider, a), a);
      out.AddMember("model", json::str(reply->model, a), a);
      add_tokens(out, reply->prompt_tokens, reply->completion_tokens);
      out.AddMember("offline", false, a);
      if (!errors.empty())
        add_string_list(out, "providerErrors", errors);
      return tool_output::success(json::dump(out));
    }
    return chain_failed("generalChat", errors);
  }

  llm_chain chain_;
  std::string product_names_;
  llm_tool_options options_;
  std::unique_ptr<tool> offline_;
};

// --- ragGeneration ----------------------------------------------------------------------------

struct passage {
  std::string text;
  std::string source; // "context" when the caller gave bare text
};

// The optional "context": chunk objects, strings, a getProductInformation result or one string.
outcome<std::vector<passage>> context_passages(const json::value& context) {
  std::vector<passage> out;
  const json::value* list = &context;
  if (context.IsObject() && context.HasMember("chunks"))
    list = &context["chunks"];
  auto take = [&](const json::value& item, const std::string& where) -> outcome<void> {
    if (item.IsString()) {
      out.push_back({item.GetString(), "context"});
      return {};
    }
    auto text = item.IsObject() ? json::get_string(item, "text") : std::nullopt;
    if (!text)
      return fail("ragGeneration: " + where + " must be a chunk object with a 'text' string, or a string");
    out.push_back({*text, json::get_string(item, "source").value_or("context")});
    return {};
  };
  if (list->IsArray()) {
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i)
      if (auto r = take((*list)[i], "context[" + std::to_string(i) + "]"); !r)
        return fail(r.error());
  } else if (list->IsString() || list->IsObject()) {
    if (auto r = take(*list, "context"); !r)
      return fail(r.error());
  } else if (!list->IsNull()) {
    return fail("ragGeneration: context must be an array of chunks, a chunk object or a string");
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const passage& p) { return trim(p.text).empty(); }),
            out.end());
  return out;
}

class llm_rag_tool final : public tool {
 public:
  llm_rag_tool(llm_chain chain, const std::string& products_dir,
               std::shared_ptr<const product_retriever> retriever, llm_tool_options options)
      : chain_(std::move(chain)), retriever_(std::move(retriever)), options_(std::move(options)),
        offline_(make_offline_rag_tool(products_dir)) {
    if (!retriever_) {
      auto opened = product_retriever::open(products_dir);
      if (opened)
        retriever_ = std::make_shared<const product_retriever>(std::move(opened.value()));
      else
        load_error_ = "product catalog unavailable: " + opened.error();
    }
  }

  std::string name() const override { return "ragGeneration"; }

  tool_output invoke(const std::string& args_json) override {
    try {
      return run(args_json);
    } catch (const std::exception& e) {
      return tool_output::permanent_error("ragGeneration failed: " + std::string(e.what()));
    }
  }

 private:
  tool_output run(const std::string& args_json) {
    auto args = parse_tool_args("ragGeneration", args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    auto query_arg = json::get_string(*args, "query");
    if (!query_arg || trim(*query_arg).empty())
      return tool_output::permanent_error("ragGeneration: missing required string arg 'query'");
    std::string query = trim(*query_arg);
    std::vector<passage> passages;
    if (auto it = args->FindMember("context"); it != args->MemberEnd()) {
      auto given = context_passages(it->value);
      if (!given)
        return tool_output::permanent_error(given.error());
      passages = std::move(given.value());
    }

    std::vector<std::string> errors;
    for (const auto& link : chain_) {
      if (!link.client) {
        auto out = offline_->invoke(args_json);
        if (out.ok)
          return label_offline(std::move(out), "extractive", errors);
        if (!out.retryable && errors.empty())
          return out; // nothing better to report than the offline tool's own reason
        errors.push_back("offline: " + out.error);
        continue;
      }
      if (passages.empty()) {
        if (!retriever_) {
          errors.push_back(describe(*link.client) + ": " + load_error_);
          continue;
        }
        for (const auto& hit : retriever_->search(query, rag_retrieved_chunks))
          passages.push_back({hit.passage.text, hit.passage.source});
      }
      auto answered = ask(*link.client, query, passages);
      if (!answered) {
        errors.push_back(answered.error());
        continue;
      }
      return tool_output::success(std::move(answered.value()));
    }
    return chain_failed("ragGeneration", errors);
  }

  // One provider's grounded answer as the result JSON, or why it is not acceptable.
  outcome<std::string> ask(llm_client& client, const std::string& query,
                           const std::vector<passage>& passages) {
    auto templ = load_prompt("rag_generation.md", options_.prompts_dir);
    if (!templ)
      return fail(describe(client) + ": " + templ.error());
    std::vector<std::string> blocks;
    for (const auto& p : passages)
      blocks.push_back("[" + p.source + "]\n" + trim(p.text));
    chat_request request;
    request.messages = {{"user", render_prompt(*templ, {{"query", query},
                                                        {"context", core::join(blocks, "\n\n")}})}};
    auto reply = client.chat(request);
    if (!reply)
      return fail(reply.error());
    std::string answer = trim(reply->text);
    std::vector<std::string> citations;
    for (const auto& p : passages)
      if (answer.find("[" + p.source + "]") != std::string::npos
          && std::find(citations.begin(), citations.end(), p.source) == citations.end())
        citations.push_back(p.source);
    if (answer.empty())
      return fail(describe(client) + ": empty answer");
    if (citations.empty() && answer.find(no_answer_sentence) == std::string::npos)
      return fail(describe(client) + ": answer cites none of the passage sources: "
                  + answer.substr(0, 120));

    json::document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    out.AddMember("query", json::str(query, a), a);
    out.AddMember("answer", json::str(answer, a), a);
    add_string_list(out, "citations", citations);
    out.AddMember("provider", json::str(reply->provider, a), a);
    out.AddMember("model", json::str(reply->model, a), a);
    add_tokens(out, reply->prompt_tokens, reply->completion_tokens);
    out.AddMember("offline", false, a);
    out.AddMember("method", "llm", a);
    return json::dump(out);
  }

  llm_chain chain_;
  std::shared_ptr<const product_retriever> retriever_;
  llm_tool_options options_;
  std::unique_ptr<tool> offline_;
  std::string load_error_;
};

// --- synthesis --------------------------------------------------------------------------------

// Sources the results offer, in order of appearance: "source", "citations", "chunks[].source".
std::vector<std::string> result_sources(const std::string& results_json) {
  std::vector<std::string> out;
  auto add = [&](const json::value& v) {
    if (v.IsString() && v.GetStringLength() > 0
        && std::find(out.begin(), out.end(), v.GetString()) == out.end())
      out.emplace_back(v.GetString());
  };
  auto doc = json::parse(results_json);
  if (!doc || !doc->IsObject())
    return out;
  for (const auto& step : doc->GetObject()) {
    const auto& r = step.value;
    if (!r.IsObject())
      continue;
    if (auto s = r.FindMember("source"); s != r.MemberEnd())
      add(s->value);
    if (auto c = r.FindMember("citations"); c != r.MemberEnd() && c->value.IsArray())
      for (const auto& item : c->value.GetArray())
        add(item);
    if (auto c = r.FindMember("chunks"); c != r.MemberEnd() && c->value.IsArray())
      for (const auto& chunk : c->value.GetArray())
        if (chunk.IsObject() && chunk.HasMember("source"))
          add(chunk["source"]);
  }
  return out;
}

class llm_synthesis_tool final : public tool {
 public:
  llm_synthesis_tool(llm_chain chain, llm_tool_options options)
      : chain_(std::move(chain)), options_(std::move(options)) {}

  std::string name() const override { return "orchestrationSynthesis"; }

  tool_output invoke(const std::string& args_json) override {
    try {
      auto in = synthesis_input_from_args(args_json);
      if (!in)
        return tool_output::permanent_error(in.error());
      auto syn = synthesize_with_chain(*in, chain_, options_);

      json::document out(rapidjson::kObjectType);
      auto& a = out.GetAllocator();
      out.AddMember("answer", json::str(syn.output.answer, a), a);
      add_string_list(out, "citations", syn.output.citations);
      out.AddMember("provider", json::str(syn.provider, a), a);
      out.AddMember("model", json::str(syn.model, a), a);
      add_tokens(out, syn.prompt_tokens, syn.completion_tokens);
      out.AddMember("offline", syn.provider == "offline", a);
      if (!syn.errors.empty())
        add_string_list(out, "providerErrors", syn.errors);
      return tool_output::success(json::dump(out));
    } catch (const std::exception& e) {
      return tool_output::permanent_error("orchestrationSynthesis failed: " + std::string(e.what()));
    }
  }

 private:
  llm_chain chain_;
  llm_tool_options options_;
};

} // namespace

std::unique_ptr<tool> make_llm_chat_tool(llm_chain chain, std::vector<std::string> product_names,
                                         llm_tool_options options) {
  return std::make_unique<llm_chat_tool>(std::move(chain), std::move(product_names), std::move(options));
}

std::unique_ptr<tool> make_llm_rag_tool(llm_chain chain, const std::string& products_dir,
                                        std::shared_ptr<const product_retriever> retriever,
                                        llm_tool_options options) {
  return std::make_unique<llm_rag_tool>(std::move(chain), products_dir, std::move(retriever),
                                        std::move(options));
}

std::unique_ptr<tool> make_llm_synthesis_tool(llm_chain chain, llm_tool_options options) {
  return std::make_unique<llm_synthesis_tool>(std::move(chain), std::move(options));
}

llm_synthesis_result synthesize_with_chain(const synthesis_input& in, const llm_chain& chain,
                                           const llm_tool_options& options) {
  llm_synthesis_result result;
  for (const auto& link : chain) {
    if (!link.client)
      break; // the offline synthesizer below
    auto templ = load_prompt("synthesis.md", options.prompts_dir);
    if (!templ) {
      result.errors.push_back(describe(*link.client) + ": " + templ.error());
      continue;
    }
    std::string failure = in.failure;
    if (!failure.empty() && !in.failed_step.empty())
      failure += " (failed step: " + in.failed_step + ")";
    chat_request request;
    std::string decisions;
    for (const auto& d : in.decisions)
      decisions += (decisions.empty() ? "" : "\n") + std::string("- ") + d;
    request.messages = {{"user", render_prompt(*templ, {{"query", in.query},
                                                        {"plan", in.plan_json},
                                                        {"results", in.results_json},
                                                        {"failure", failure},
                                                        {"decisions", decisions}})}};
    auto reply = link.client->chat(request);
    if (!reply) {
      result.errors.push_back(reply.error());
      continue;
    }
    std::string answer = trim(reply->text);
    if (answer.empty()) {
      result.errors.push_back(describe(*link.client) + ": empty answer");
      continue;
    }
    auto sources = result_sources(in.results_json);
    for (const auto& s : sources)
      if (answer.find("[" + s + "]") != std::string::npos)
        result.output.citations.push_back(s);
    if (result.output.citations.empty())
      result.output.citations = sources;
    result.output.answer = answer;
    result.provider = reply->provider;
    result.model = reply->model;
    result.prompt_tokens = reply->prompt_tokens;
    result.completion_tokens = reply->completion_tokens;
    result.ms = reply->ms;
    return result;
  }
  result.output = synthesize_offline(in);
  result.provider = "offline";
  result.model = "template";
  return result;
}

} // namespace eventide::providers
