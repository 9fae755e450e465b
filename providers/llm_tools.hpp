// LLM-backed generalChat, ragGeneration and synthesis, each walking its provider chain and
// ending at the offline implementation. Results name the provider and model that answered and
// the token usage the server reported.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "providers/catalog.hpp"
#include "providers/provider_config.hpp"
#include "providers/synthesis.hpp"
#include "providers/tool.hpp"

namespace eventide::providers {

struct llm_tool_options {
  std::string prompts_dir; // default resource_root()/prompts
};

/// generalChat: {"message"} -> {"answer","provider","model","tokens":{"prompt","completion"}?,
/// "offline":false,"providerErrors"?:[...]} from the first chain provider that answers, using
/// prompts/general_chat.md as system message. An "offline" link answers with the offline chat
/// tool's result plus "provider":"offline","model":"rule-based". When every link fails the
/// error lists each provider's reason and is transient.
std::unique_ptr<tool> make_llm_chat_tool(llm_chain chain, std::vector<std::string> product_names,
                                         llm_tool_options options = {});

/// ragGeneration: {"query","context"?} -> {"query","answer","citations":[source...],"provider",
/// "model","tokens"?,"offline":false,"method":"llm","providerErrors"?}. Passages are the given
/// context (chunk objects, strings, or a getProductInformation result) or the retriever's top 4
/// chunks, sent through prompts/rag_generation.md. A reply must cite at least one passage
/// source as "[source]" (or say the passages do not answer); otherwise that provider counts
/// as failed. "offline" links use the extractive offline RAG tool. `retriever` may be shared
/// with getProductInformation (hybrid ranking); null: BM25 over `products_dir`.
std::unique_ptr<tool> make_llm_rag_tool(llm_chain chain, const std::string& products_dir,
                                        std::shared_ptr<const product_retriever> retriever = nullptr,
                                        llm_tool_options options = {});

struct llm_synthesis_result {
  synthesis_output output;
  std::string provider; // "offline" when the template synthesizer answered
  std::string model;    // "template" for offline
  int prompt_tokens = -1;
  int completion_tokens = -1;
  int64_t ms = 0;
  std::vector<std::string> errors; // reasons of LLM providers that failed first
};

/// The final answer through prompts/synthesis.md and the synthesis chain. Never fails: when
/// every LLM fails (or the chain has none) the offline template synthesizer answers.
/// Citations: the results' sources ("source", "citations", "chunks[].source") that the answer
/// cites in [brackets], or all of them when it cites none.
llm_synthesis_result synthesize_with_chain(const synthesis_input& in, const llm_chain& chain,
                                           const llm_tool_options& options = {});

/// orchestrationSynthesis: {"query","results"?} -> {"answer","citations","provider","model",
/// "tokens"?,"offline"} via synthesize_with_chain.
std::unique_ptr<tool> make_llm_synthesis_tool(llm_chain chain, llm_tool_options options = {});

} // namespace eventide::providers
