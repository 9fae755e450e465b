// A real model behind the OpenAI-compatible provider, measured with the runtime's own code:
//
//   planning   every question of a split of tests/fixtures/planner_labelled.json goes through
//              plan_with_chain (prompts/router.md, JSON output, plan_from_reply, one repair
//              round) with the chain [openai] alone, and the plan is scored with the rule of
//              the offline planner's [quality] test (tests/providers/plan_match.hpp);
//   rag        (--rag) every question of tests/fixtures/rag_questions.json goes through
//              getProductInformation then the LLM ragGeneration tool (chain [openai] alone),
//              scored as rag_eval_test does: the answer contains the labelled catalog fact.
//
// Latency is the wall time of one plan (both rounds when repaired) or one RAG call, with
// prompt and completion tokens as the server reported them; one plan before the measured ones
// warms the server's prompt cache (--no-warmup: none). Prints a Markdown section.
//
//   llm_bench --url URL --model NAME [--split heldout|tune|all] [--limit N] [--rag]
//             [--cap N] [--timeout-ms MS] [--label TEXT] [--no-warmup] [--no-planning]
//             [--verbose]
//   --cap: the server's reply cap (n_predict), to count replies cut off by it
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "core/placeholders.hpp"
#include "core/text.hpp"
#include "providers/llm_planner.hpp"
#include "providers/llm_tools.hpp"
#include "providers/offline_tools.hpp"
#include "providers/provider_config.hpp"
#include "tests/providers/plan_match.hpp"

using namespace eventide;
using clock_type = std::chrono::steady_clock;

namespace {

// Passes every call on and keeps what the server reported, so the tokens of a failed plan
// (which plan_with_chain does not return) count too.
class metered_client final : public providers::llm_client {
 public:
  explicit metered_client(std::shared_ptr<providers::llm_client> inner) : inner_(std::move(inner)) {}

  struct call {
    double ms;
    int prompt, completion; // -1: not reported
    bool ok;
    std::string text; // the reply
  };

  outcome<providers::llm_reply> chat(const providers::chat_request& request,
                                     int64_t deadline_ms) override {
    auto t0 = clock_type::now();
    auto reply = inner_->chat(request, deadline_ms);
    double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    std::lock_guard<std::mutex> lock(mutex_);
    if (reply)
      calls_.push_back({ms, reply->prompt_tokens, reply->completion_tokens, true, reply->text});
    else
      calls_.push_back({ms, -1, -1, false, {}});
    return reply;
  }
  outcome<std::vector<float>> embed(const std::string& text, int64_t deadline_ms) override {
    return inner_->embed(text, deadline_ms);
  }
  std::string name() const override { return inner_->name(); }
  std::string model() const override { return inner_->model(); }
  std::string embedding_model() const override { return inner_->embedding_model(); }

  std::vector<call> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(calls_, {});
  }

 private:
  std::shared_ptr<providers::llm_client> inner_;
  std::mutex mutex_;
  std::vector<call> calls_;
};

struct sample {
  double ms = 0;
  int calls = 0, failed_calls = 0;
  int prompt = 0, completion = 0; // summed over the calls that reported them
  int capped = 0;                 // replies with completion tokens >= --cap
  bool produced = false;          // a plan / an accepted answer came back
  bool correct = false;
  std::vector<std::string> replies; // what the model wrote, accepted or not
  std::string error;
};

sample measure(metered_client& meter, clock_type::time_point t0, int cap) {
  sample s;
  s.ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  for (const auto& c : meter.take()) {
    ++s.calls;
    s.failed_calls += !c.ok;
    s.prompt += std::max(c.prompt, 0);
    s.completion += std::max(c.completion, 0);
    s.capped += cap > 0 && c.completion >= cap;
    if (c.ok)
      s.replies.push_back(c.text);
  }
  return s;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v)
    sum += x;
  return v.empty() ? 0 : sum / v.size();
}

std::string fmt(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "openai (m): invalid plan after one repair round: step s1: unexpected arg 'context' for
// tool 'x'" -> "unexpected arg '…' for tool '…'": the reason's kind, without its details.
std::string reason_kind(std::string error) {
  auto strip = [&](const std::string& prefix) {
    if (error.rfind(prefix, 0) == 0)
      error = error.substr(prefix.size());
  };
  strip("every planner failed: ");
  if (auto at = error.find("): "); at != std::string::npos && error.find(" (") < at)
    error = error.substr(at + 3); // "openai (model): "
  strip("invalid plan after one repair round: ");
  if (error.rfind("step ", 0) == 0)
    if (auto at = error.find(": "); at != std::string::npos)
      error = error.substr(at + 2);
  if (error.rfind("schema violation at (root)", 0) == 0)
    error.replace(20, 6, "/");
  // A schema violation keeps its message ("at /steps/N: expected object, got string"), other
  // reasons their first clause.
  for (const char* cut : {": ", " (", "\n"})
    if (auto at = error.find(cut); at != std::string::npos && at > 0
        && !(cut[0] == ':' && error.rfind("schema violation", 0) == 0))
      error = error.substr(0, at);
  std::string out; // quoted names elided, numbers written N
  bool quoted = false;
  for (char c : error) {
    if (c == '\'') {
      out += quoted ? "…'" : "'";
      quoted = !quoted;
    } else if (quoted) {
      continue;
    } else if (c >= '0' && c <= '9') {
      if (out.empty() || out.back() != 'N')
        out += 'N';
    } else {
      out += c;
    }
  }
  return out.substr(0, 90);
}

// Rows shared by the planning and RAG tables.
void print_rows(const std::vector<sample>& samples) {
  std::vector<double> ms, prompt, completion, calls;
  int capped = 0, replies = 0, failed_calls = 0;
  double total_ms = 0, total_completion = 0;
  for (const auto& s : samples) {
    ms.push_back(s.ms);
    prompt.push_back(s.prompt);
    completion.push_back(s.completion);
    calls.push_back(s.calls);
    capped += s.capped;
    replies += s.calls - s.failed_calls;
    failed_calls += s.failed_calls;
    total_ms += s.ms;
    total_completion += s.completion;
  }
  std::cout << "| latency per item, ms | p50 " << fmt("%.0f", quantile(ms, 0.5)) << ", p95 "
            << fmt("%.0f", quantile(ms, 0.95)) << ", mean " << fmt("%.0f", mean(ms)) << ", max "
            << fmt("%.0f", quantile(ms, 1.0)) << " |\n";
  std::cout << "| LLM calls per item | mean " << fmt("%.2f", mean(calls)) << " (" << replies
            << " replies, " << failed_calls << " failed calls) |\n";
  std::cout << "| prompt tokens per item | p50 " << fmt("%.0f", quantile(prompt, 0.5)) << ", mean "
            << fmt("%.0f", mean(prompt)) << " |\n";
  std::cout << "| completion tokens per item | p50 " << fmt("%.0f", quantile(completion, 0.5))
            << ", mean " << fmt("%.0f", mean(completion)) << " |\n";
  std::cout << "| replies cut off by the server's token cap | " << capped << " of " << replies
            << " |\n";
  std::cout << "| completion tokens per second of wall time | "
            << fmt("%.1f", total_ms > 0 ? total_completion * 1000 / total_ms : 0) << " |\n";
}

void print_reasons(const std::vector<sample>& samples) {
  std::map<std::string, int> reasons;
  for (const auto& s : samples)
    if (!s.error.empty())
      ++reasons[reason_kind(s.error)];
  if (reasons.empty())
    return;
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [k, n] : reasons)
    sorted.emplace_back(n, k);
  std::sort(sorted.rbegin(), sorted.rend());
  std::cout << "\nWhy no " << "result came back (count, kind):\n\n";
  for (const auto& [n, k] : sorted)
    std::cout << "- " << n << " × " << k << "\n";
}

struct bench_setup {
  const providers::llm_chain& chain;
  metered_client& meter;
  const quality::plan_matcher& matcher;
  std::string products_dir, fixtures, split, model, url, label;
  int limit = 0, cap = 0;
  bool verbose = false, warmup = true;
};

void bench_planning(const bench_setup& b) {
  const auto& chain = b.chain;
  auto& meter = b.meter;
  const auto& matcher = b.matcher;
  const auto& fixtures = b.fixtures;
  const auto& split = b.split;
  const auto& model = b.model;
  const auto& url = b.url;
  const auto& label = b.label;
  const auto& limit = b.limit;
  const auto& cap = b.cap;
  const auto& verbose = b.verbose;
  const auto& warmup = b.warmup;
  const providers::planner_context ctx{matcher.product_names()};  // the LLM prompt lists names
  auto items = json::parse(read(fixtures + "/planner_labelled.json"));
  if (!items)
    throw std::runtime_error(items.error());
  // One plan not counted, so that the server's prompt cache holds the system prompt (the same
  // for every question) as it does in steady operation.
  if (warmup) {
    auto t0 = clock_type::now();
    (void)providers::plan_with_chain("What is 2 + 2?", chain, ctx);
    auto s = measure(meter, t0, cap);
    std::cerr << "[llm_bench] warm-up plan (not counted): " << fmt("%.0f", s.ms) << " ms, "
              << s.prompt << "+" << s.completion << " tokens\n";
  }
  std::vector<sample> plans;
  int unknown = 0, unknown_refused = 0;
  for (const auto& item : items->GetArray()) {
    if (split != "all" && split != item["split"].GetString())
      continue;
    if (item.HasMember("catalog")) // about another catalog than the one the prompt lists
      continue;
    if (limit > 0 && static_cast<int>(plans.size()) >= limit)
      break;
    std::string question = item["question"].GetString();
    auto t0 = clock_type::now();
    auto planned = providers::plan_with_chain(question, chain, ctx);
    auto s = measure(meter, t0, cap);
    outcome<std::string> plan = planned ? outcome<std::string>(planned->plan_json)
                                        : outcome<std::string>(fail(planned.error()));
    s.produced = planned.ok();
    s.correct = matcher.matches(item, plan);
    if (!planned)
      s.error = planned.error();
    if (item.HasMember("unknown_product")) {
      ++unknown;
      unknown_refused += s.correct && !s.produced;
    }
    std::cerr << "[llm_bench] plan " << plans.size() + 1 << ": " << (s.correct ? "exact" : "miss")
              << (s.produced ? "" : " (no plan)") << ", " << fmt("%.0f", s.ms) << " ms, "
              << s.prompt << "+" << s.completion << " tokens: " << question.substr(0, 70) << "\n";
    if (verbose)
      std::cerr << "    " << (planned ? planned->plan_json : planned.error()).substr(0, 400) << "\n";
    plans.push_back(std::move(s));
  }
  int exact = 0, produced = 0;
  for (const auto& s : plans) {
    exact += s.correct;
    produced += s.produced;
  }
  const int n = static_cast<int>(plans.size());
  std::cout << "## LLM planning: " << model << " (OpenAI-compatible, " << url << ")\n\n";
  if (!label.empty())
    std::cout << label << "\n\n";
  std::cout << "Split `" << split << "` of tests/fixtures/planner_labelled.json"
            << (limit ? " (first " + std::to_string(limit) + ")" : "")
            << ", chain [openai] alone (no fallback), plan_with_chain with prompts/router.md and "
               "one repair round; scored by the offline planner's [quality] rule "
               "(tests/providers/plan_match.hpp).\n\n";
  std::cout << "| measure | value |\n|---|---|\n";
  std::cout << "| exact plans (the [quality] rule) | " << exact << "/" << n << " (" << unknown_refused
            << " of them among the " << unknown
            << " unknown-product items, which pass when no plan is made) |\n";
  std::cout << "| exact plans the model actually made | " << exact - unknown_refused << "/" << n
            << " |\n";
  std::cout << "| valid plans returned (schema and parse_plan) | " << produced << "/" << n << " |\n";
  std::cout << "| quality (1-5) = 5 × exact/N | " << fmt("%.1f", n ? 5.0 * exact / n : 0) << " |\n";
  print_rows(plans);
  print_reasons(plans);
  std::cout << "\n";
}

void bench_rag(const bench_setup& b) {
  const auto& chain = b.chain;
  auto& meter = b.meter;
  const auto& products_dir = b.products_dir;
  const auto& fixtures = b.fixtures;
  const auto& model = b.model;
  const auto& limit = b.limit;
  const auto& cap = b.cap;
  const auto& verbose = b.verbose;
  auto rag_items = json::parse(read(fixtures + "/rag_questions.json"));
  if (!rag_items)
    throw std::runtime_error(rag_items.error());
  auto lookup = providers::make_product_info_tool(products_dir);
  auto tool = providers::make_llm_rag_tool(chain, products_dir);
  std::vector<sample> answers;
  int fact_in_reply = 0; // the model wrote the fact, whether the tool accepted the reply or not
  for (const auto& item : rag_items->GetArray()) {
    if (limit > 0 && static_cast<int>(answers.size()) >= limit)
      break;
    std::string question = item["question"].GetString();
    // As rag_eval_test: lookup {"query": question}, then ragGeneration with its chunks.
    json::document args(rapidjson::kObjectType);
    args.AddMember("query", json::str(question, args.GetAllocator()), args.GetAllocator());
    auto query_args = json::dump(args);
    std::string answer;
    sample s;
    auto found = lookup->invoke(query_args);
    auto t0 = clock_type::now();
    if (found.ok) {
      auto rag_args = core::resolve_placeholders(
          query_args.substr(0, query_args.size() - 1) + R"(,"context":"{{steps.s1.result.chunks}}"})",
          {{"s1", found.result_json}}, {"s1", "s2"});
      if (!rag_args)
        throw std::runtime_error(rag_args.error());
      auto out = tool->invoke(*rag_args);
      s = measure(meter, t0, cap);
      if (out.ok)
        answer = json::get_string(*json::parse(out.result_json), "answer").value_or("");
      else
        s.error = out.error;
    } else {
      s.error = "lookup failed: " + found.error;
    }
    s.produced = !answer.empty();
    bool in_reply = false;
    for (const auto& fact : item["must_contain"].GetArray()) {
      auto has = [&](const std::string& text) {
        return core::lower(text).find(core::lower(fact.GetString())) != std::string::npos;
      };
      s.correct = s.correct || has(answer);
      for (const auto& r : s.replies)
        in_reply = in_reply || has(r);
    }
    fact_in_reply += in_reply;
    std::cerr << "[llm_bench] rag " << answers.size() + 1 << ": " << (s.correct ? "fact" : "miss")
              << (s.produced ? "" : " (no answer)") << ", " << fmt("%.0f", s.ms) << " ms, "
              << s.prompt << "+" << s.completion << " tokens: " << question.substr(0, 70) << "\n";
    if (verbose)
      std::cerr << "    " << (answer.empty() ? s.error : answer).substr(0, 400) << "\n";
    answers.push_back(std::move(s));
  }
  int correct = 0, answered = 0;
  for (const auto& s : answers) {
    correct += s.correct;
    answered += s.produced;
  }
  const int m = static_cast<int>(answers.size());
  std::cout << "## LLM ragGeneration: " << model << "\n\n";
  std::cout << "tests/fixtures/rag_questions.json (all held out)"
            << (limit ? " (first " + std::to_string(limit) + ")" : "")
            << ": getProductInformation, then the LLM ragGeneration tool with its chunks, chain "
               "[openai] alone; an answer counts when it contains the labelled fact "
               "(rag_eval_test's rule).\n\n";
  std::cout << "| measure | value |\n|---|---|\n";
  std::cout << "| answers containing the labelled fact | " << correct << "/" << m << " |\n";
  std::cout << "| answers the tool accepted (cite a passage) | " << answered << "/" << m << " |\n";
  std::cout << "| model replies containing the fact, accepted or not | " << fact_in_reply << "/"
            << m << " |\n";
  std::cout << "| quality (1-5) = 5 × correct/N | " << fmt("%.1f", m ? 5.0 * correct / m : 0)
            << " |\n";
  print_rows(answers);
  print_reasons(answers);
  std::cout << "\n";
}

} // namespace

int main(int argc, char** argv) try {
  std::string url, model, split = "heldout", label;
  int limit = 0, cap = 0;
  long timeout_ms = 600000;
  bool rag = false, verbose = false, no_warmup = false, planning = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url")
      url = value();
    else if (a == "--model")
      model = value();
    else if (a == "--split")
      split = value();
    else if (a == "--limit")
      limit = std::stoi(value());
    else if (a == "--cap")
      cap = std::stoi(value());
    else if (a == "--timeout-ms")
      timeout_ms = std::stol(value());
    else if (a == "--label")
      label = value();
    else if (a == "--rag")
      rag = true;
    else if (a == "--verbose")
      verbose = true;
    else if (a == "--no-warmup")
      no_warmup = true;
    else if (a == "--no-planning")
      planning = false;
    else
      throw std::runtime_error("unknown option " + a + " (see the header of bench/llm_bench.cpp)");
  }
  if (url.empty() || model.empty())
    throw std::runtime_error("--url and --model are required");
  if (split != "heldout" && split != "tune" && split != "all")
    throw std::runtime_error("--split is heldout, tune or all");

  providers::provider_config config;
  config.planning_chain = {"openai"};
  config.rag_chain = {"openai"};
  config.openai_url = url;
  config.openai_model = model;
  config.timeout_ms = timeout_ms; // one slow reply is a data point, not a failure
  config.retry.max_attempts = 1;  // nor retried: every call is measured once
  auto runtime = providers::make_provider_runtime(config);
  auto meter = std::make_shared<metered_client>(runtime->openai);
  const providers::llm_chain chain{{"openai", meter}};

  const quality::plan_matcher matcher(EVENTIDE_SOURCE_DIR "/products");

  const bench_setup setup{chain, *meter, matcher, EVENTIDE_SOURCE_DIR "/products",
                         EVENTIDE_SOURCE_DIR "/tests/fixtures", split, model, url, label, limit,
                         cap, verbose, !no_warmup};
  if (planning)
    bench_planning(setup);
  if (rag)
    bench_rag(setup);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "llm_bench: " << e.what() << "\n";
  return 2;
}
