// The quality figures that README.md's summary table reports, in one place. Each test named
// below asserts that its measured count EQUALS the figure here, so any change in quality (up
// or down) fails until this file and the README row are updated together.
//
// "held-out" items were written from the docs (README plan table, prompts/router.md, the tool
// catalog, products/*.md) before the code was run on them, and were never used to tune it.
// "tune" items are the ones the code was developed against.
#pragma once

namespace eventide::quality {

// Planner exact plans, tests/fixtures/planner_labelled.json, per catalog: products/ ("bundled")
// and tests/fixtures/catalogs/outdoor ("outdoor", items with "catalog": "outdoor")
// ("planner_eval: exact-plan accuracy per catalog and split", planner_eval_test.cpp).
constexpr int planner_bundled_tune_total = 147;
constexpr int planner_bundled_tune_exact = 147;
constexpr int planner_bundled_heldout_total = 106;
constexpr int planner_bundled_heldout_exact = 101;
constexpr int planner_outdoor_tune_total = 22;
constexpr int planner_outdoor_tune_exact = 22;
constexpr int planner_outdoor_heldout_total = 20;
constexpr int planner_outdoor_heldout_exact = 20;

// ragGeneration answers that contain the labelled fact, tests/fixtures/rag_questions.json
// ("rag_eval: ...", rag_eval_test.cpp). Every item is held out.
constexpr int rag_heldout_total = 40;
constexpr int rag_heldout_correct = 25;

// Retrieval top-1 (best_product), tests/fixtures/retrieval_questions.json
// ("best_product top-1 accuracy ...", product_tools_test.cpp; BM25 and hybrid in
// hybrid_retrieval_test.cpp, hybrid with the test server's toy hashed embedder).
constexpr int retrieval_tune_total = 50;
constexpr int retrieval_heldout_total = 36;
constexpr int bm25_tune_top1 = 47;
constexpr int bm25_heldout_top1 = 34;
constexpr int hybrid_tune_top1 = 47;
constexpr int hybrid_heldout_top1 = 33;

} // namespace eventide::quality
