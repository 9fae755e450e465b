// The offline synthesizer: exact first lines, detail lines, citations and the offline note.
#include <catch2/catch.hpp>

#include "providers/synthesis.hpp"

using namespace eventide::providers;

namespace {

const std::string offline_note =
    "Note: answered offline with sample data; no LLM or live service was used.";

const std::string aurora_result =
    R"({"query":"Aurora X1 price","name":"Aurora X1","price":1299,"currency":"USD",)"
    R"("source":"products/aurora-x1.md","product":{"id":"aurora-x1"},"chunks":[],"offline":true})";

const std::string aurora_to_eur_result =
    R"({"from":"USD","to":"EUR","amount":1299,"rate":0.919963,"converted":1195.03,)"
    R"("date":"2026-11-02","source":"config/exchange-rates.json","offline":true,)"
    R"("label":"offline sample rates of 2026-11-02"})";

const std::string price_exchange_vat_plan =
    R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
    R"({"id":"s2","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"EUR",)"
    R"("amount":"{{steps.s1.result.price}}"}},)"
    R"({"id":"s3","tool":"math","args":{"expression":"{{steps.s2.result.converted}} * 1.19"}}],)"
    R"("finalAnswerRequired":true})";

} // namespace

TEST_CASE("synthesis: price -> exchange -> math", "[synthesis]") {
  synthesis_input in;
  in.query = "How much is the Aurora X1 in EUR including 19% VAT?";
  in.plan_json = price_exchange_vat_plan;
  in.results_json = R"({"s1":)" + aurora_result + R"(,"s2":)" + aurora_to_eur_result
                    + R"(,"s3":{"expression":"1195.03 * 1.19","value":1422.0857}})";
  auto out = synthesize_offline(in);
  CHECK(out.answer
        == "The answer is 1422.09 EUR (1195.03 * 1.19).\n"
           "Details:\n"
           "- s1 getProductInformation: Aurora X1 costs 1299 USD (source: products/aurora-x1.md)\n"
           "- s2 exchangeRate: 1299 USD = 1195.03 EUR at 0.919963 (offline sample rates of "
           "2026-11-02, config/exchange-rates.json)\n"
           "- s3 math: 1195.03 * 1.19 = 1422.09\n"
           + offline_note);
  CHECK(out.citations == std::vector<std::string>{"products/aurora-x1.md", "config/exchange-rates.json"});
}

TEST_CASE("synthesis: price -> exchange names the product in the answer", "[synthesis]") {
  synthesis_input in;
  in.query = "What does the Aurora X1 cost in euros?";
  in.plan_json =
      R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
      R"({"id":"s2","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"EUR",)"
      R"("amount":"{{steps.s1.result.price}}"}}]})";
  // 1195.1: money keeps two decimals.
  std::string exchange = aurora_to_eur_result;
  exchange.replace(exchange.find("1195.03"), 7, "1195.1");
  in.results_json = R"({"s1":)" + aurora_result + R"(,"s2":)" + exchange + "}";
  auto out = synthesize_offline(in);
  CHECK(out.answer.substr(0, out.answer.find('\n'))
        == "The Aurora X1 costs 1195.10 EUR (1299 USD at 0.919963).");
  CHECK(out.answer.find("- s2 exchangeRate: 1299 USD = 1195.10 EUR at 0.919963") != std::string::npos);
}

TEST_CASE("synthesis: parallel weather and exchange both answer the first line", "[synthesis]") {
  synthesis_input in;
  in.query = "What's the weather in Berlin and the USD to EUR rate?";
  in.plan_json = R"({"steps":[{"id":"s1","tool":"weather","args":{"city":"Berlin"}},)"
                 R"({"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":1}}]})";
  in.results_json =
      R"({"s2":{"from":"USD","to":"EUR","amount":1,"rate":0.919963,"converted":0.92,)"
      R"("date":"2026-11-02","source":"config/exchange-rates.json","offline":true,)"
      R"("label":"offline sample rates of 2026-11-02"},)"
      R"("s1":{"city":"Berlin","temperatureC":9.5,"condition":"light rain","windKph":18,)"
      R"("humidity":81,"observedAt":"2026-11-02T12:00:00Z","source":"config/weather-sample.json",)"
      R"("offline":true,"label":"offline sample data"}})";
  auto out = synthesize_offline(in);
  CHECK(out.answer
        == "Berlin: 9.5 °C, light rain, wind 18 km/h, humidity 81%. 1 USD = 0.92 EUR (rate 0.919963).\n"
           "Details:\n"
           "- s1 weather: Berlin 9.5 °C, light rain (offline sample data of 2026-11-02T12:00:00Z, "
           "config/weather-sample.json)\n"
           "- s2 exchangeRate: 1 USD = 0.92 EUR at 0.919963 (offline sample rates of 2026-11-02, "
           "config/exchange-rates.json)\n"
           + offline_note);
  // Plan order, not the order of the results object.
  CHECK(out.citations == std::vector<std::string>{"config/weather-sample.json", "config/exchange-rates.json"});
}

TEST_CASE("synthesis: a failure leads, partial results follow", "[synthesis]") {
  synthesis_input in;
  in.query = "What does the Aurora X1 cost in XYZ?";
  in.plan_json =
      R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
      R"({"id":"s2","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"XYZ",)"
      R"("amount":"{{steps.s1.result.price}}"}},)"
      R"({"id":"s3","tool":"math","args":{"expression":"{{steps.s2.result.converted}} * 2"}}]})";
  in.results_json = R"({"s1":)" + aurora_result + "}";
  in.failure = "exchangeRate: unknown currency 'XYZ' (known: EUR, USD)";
  in.failed_step = "s2";
  auto out = synthesize_offline(in);
  CHECK(out.answer
        == "I could not complete this request: exchangeRate: unknown currency 'XYZ' (known: EUR, USD)\n"
           "Details:\n"
           "- s1 getProductInformation: Aurora X1 costs 1299 USD (source: products/aurora-x1.md)\n"
           "- s2 exchangeRate: failed\n"
           + offline_note);
  CHECK(out.citations == std::vector<std::string>{"products/aurora-x1.md"});
}

TEST_CASE("synthesis: a failure without any result is still an offline answer", "[synthesis]") {
  synthesis_input in;
  in.query = "x";
  in.plan_json = "null";
  in.results_json = "{}";
  in.failure = "step s1: unknown tool 'fly'";
  auto out = synthesize_offline(in);
  CHECK(out.answer
        == "I could not complete this request: step s1: unknown tool 'fly'\n"
           "Note: answered offline; no LLM or live service was used.");
  CHECK(out.citations.empty());
  // A failure that went through a live service does not claim otherwise.
  in.failure = "step s1 (weather) failed after 3 attempts: weather: live service failed: timeout";
  CHECK(synthesize_offline(in).answer
        == "I could not complete this request: step s1 (weather) failed after 3 attempts: weather: "
           "live service failed: timeout");
}

TEST_CASE("synthesis: a RAG answer is the direct answer", "[synthesis]") {
  synthesis_input in;
  in.query = "What is the battery life of the Aurora X1?";
  in.plan_json =
      R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"battery"}},)"
      R"({"id":"s2","tool":"ragGeneration","args":{"query":"battery",)"
      R"("context":"{{steps.s1.result.chunks}}"}}]})";
  in.results_json =
      R"({"s1":)" + aurora_result
      + R"(,"s2":{"answer":"The Aurora X1 battery lasts up to 14 hours.\n[products/aurora-x1.md]",)"
        R"("citations":["products/aurora-x1.md","products/README.md"],"offline":true}})";
  auto out = synthesize_offline(in);
  CHECK(out.answer
        == "The Aurora X1 battery lasts up to 14 hours. [products/aurora-x1.md].\n"
           "Details:\n"
           "- s1 getProductInformation: Aurora X1 costs 1299 USD (source: products/aurora-x1.md)\n"
           "- s2 ragGeneration: \"The Aurora X1 battery lasts up to 14 hours. [products/aurora-x1.md]\" "
           "(sources: products/aurora-x1.md, products/README.md)\n"
           + offline_note);
  CHECK(out.citations == std::vector<std::string>{"products/aurora-x1.md", "products/README.md"});
}

TEST_CASE("synthesis: math alone, live results and unknown shapes", "[synthesis]") {
  synthesis_input in;
  in.query = "What is 15% of 240 plus 3^2?";
  in.plan_json = R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"15/100*240 + 3^2"}}]})";
  in.results_json = R"({"s1":{"expression":"15/100*240 + 3^2","value":45}})";
  auto math = synthesize_offline(in);
  // Arithmetic alone: offline, though without sample data.
  CHECK(math.answer
        == "The answer is 45 (15/100*240 + 3^2).\nDetails:\n- s1 math: 15/100*240 + 3^2 = 45\n"
           "Note: answered offline; no LLM or live service was used.");

  in.plan_json = R"({"steps":[{"id":"s1","tool":"weather","args":{"city":"Oslo"}},)"
                 R"({"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR"}}]})";
  in.results_json =
      R"({"s1":{"city":"Oslo","temperatureC":-2,"condition":"snow","source":"open-meteo.com"},)"
      R"("s2":{"from":"USD","to":"EUR","amount":1,"rate":0.92,"converted":0.92,"offline":true,)"
      R"("label":"offline sample rates of 2026-11-02","source":"config/exchange-rates.json"}})";
  auto mixed = synthesize_offline(in);
  CHECK(mixed.answer
        == "Oslo: -2 °C, snow. 1 USD = 0.92 EUR (rate 0.92).\n"
           "Details:\n"
           "- s1 weather: Oslo -2 °C, snow (source: open-meteo.com)\n"
           "- s2 exchangeRate: 1 USD = 0.92 EUR at 0.92 (offline sample rates of 2026-11-02, "
           "config/exchange-rates.json)\n"
           "Note: some results are offline sample data; no LLM was used.");

  // An LLM's result: the note no longer says that no LLM was used.
  in.plan_json = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"battery"}},)"
                 R"({"id":"s2","tool":"ragGeneration","args":{"query":"battery",)"
                 R"("context":"{{steps.s1.result.chunks}}"}}]})";
  in.results_json = R"({"s1":)" + aurora_result
                    + R"(,"s2":{"answer":"14 hours.","citations":[],"provider":"ollama",)"
                      R"("model":"llama3.1:8b","offline":false}})";
  auto llm = synthesize_offline(in);
  CHECK(llm.answer.substr(llm.answer.rfind('\n') + 1) == "Note: some results are offline sample data.");

  in.plan_json = "null";
  in.results_json = R"({"x":{"foo":[1,2]}})";
  auto odd = synthesize_offline(in);
  CHECK(odd.answer == "x: {\"foo\":[1,2]}.\nDetails:\n- x result: {\"foo\":[1,2]}");
}

TEST_CASE("synthesis: deterministic", "[synthesis]") {
  synthesis_input in;
  in.query = "q";
  in.plan_json = price_exchange_vat_plan;
  in.results_json = R"({"s1":)" + aurora_result + "}";
  auto a = synthesize_offline(in);
  auto b = synthesize_offline(in);
  CHECK(a.answer == b.answer);
  CHECK(a.citations == b.citations);
  // s1 feeds s2, which has no result yet: the last available result still answers.
  CHECK(a.answer.substr(0, a.answer.find('\n')) == "The Aurora X1 costs 1299 USD.");
}

TEST_CASE("synthesis: a price gap says which product costs more", "[synthesis]") {
  const std::string plan =
      R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}},)"
      R"({"id":"s2","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
      R"({"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s2.result.currency}}",)"
      R"("to":"{{steps.s1.result.currency}}","amount":"{{steps.s2.result.price}}"}},)"
      R"({"id":"s4","tool":"math","args":{"expression":"EXPRESSION"}}]})";
  const std::string nimbus =
      R"({"query":"Nimbus Pro price","name":"Nimbus Pro","price":1849,"currency":"USD",)"
      R"("source":"products/nimbus-pro.md","chunks":[],"offline":true})";
  const std::string identity =
      R"({"from":"USD","to":"USD","amount":1299,"rate":1,"converted":1299,"offline":true})";
  auto answer_for = [&](const std::string& expression, const std::string& math_result) {
    synthesis_input in;
    in.query = "Which is cheaper?";
    in.plan_json = plan;
    in.plan_json.replace(in.plan_json.find("EXPRESSION"), 10, expression);
    in.results_json = R"({"s1":)" + nimbus + R"(,"s2":)" + aurora_result + R"(,"s3":)" + identity
                      + R"(,"s4":)" + math_result + "}";
    auto out = synthesize_offline(in);
    return out.answer.substr(0, out.answer.find('\n'));
  };
  CHECK(answer_for("{{steps.s1.result.price}} - {{steps.s3.result.converted}}",
                   R"({"expression":"1849 - 1299","value":550})")
        == "The Nimbus Pro costs 550 USD more than the Aurora X1 (1849 - 1299).");
  CHECK(answer_for("{{steps.s3.result.converted}} - {{steps.s1.result.price}}",
                   R"({"expression":"1299 - 1849","value":-550})")
        == "The Aurora X1 costs 550 USD less than the Nimbus Pro (1299 - 1849).");
  // Other arithmetic on prices keeps the plain answer (s3, now unused, is a final result too).
  CHECK(answer_for("{{steps.s1.result.price}} * 2", R"({"expression":"1849 * 2","value":3698})")
        == "The Aurora X1 costs 1299 USD (1299 USD at 1). The answer is 3698 USD (1849 * 2).");
}
