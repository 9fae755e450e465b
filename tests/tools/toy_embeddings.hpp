// A stand-in embedding model for the retrieval tests: hashed bag of words (weight 1) plus
// hashed character trigrams (weight 0.3, so "waterproof" and "water-resistant" share
// something), L2-normalised, 512 dimensions. Deterministic and offline. serve_toy_embeddings
// answers Ollama's /api/embeddings with it on an http_test_server.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/retrieval.hpp"
#include "tests/tools/http_test_server.hpp"

namespace eventide::testing {

constexpr std::size_t toy_dimensions = 512;

inline uint32_t toy_fnv(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s)
    h = (h ^ c) * 16777619u;
  return h;
}

inline std::vector<double> toy_embedding(const std::string& text) {
  std::vector<double> v(toy_dimensions, 0.0);
  for (const auto& token : core::tokenize(text)) {
    v[toy_fnv(token) % toy_dimensions] += 1.0;
    std::string padded = "#" + token + "#";
    for (std::size_t i = 0; i + 3 <= padded.size(); ++i)
      v[toy_fnv("3:" + padded.substr(i, 3)) % toy_dimensions] += 0.3;
  }
  double norm = 0;
  for (double x : v)
    norm += x * x;
  if (norm > 0)
    for (double& x : v)
      x /= std::sqrt(norm);
  return v;
}

/// Serves Ollama's /api/embeddings with toy_embedding of the prompt.
inline void serve_toy_embeddings(http_test_server& server) {
  server.set_handler("/api/embeddings", [](const recorded_request& r) {
    auto body = json::parse(r.body);
    if (!body || !json::get_string(*body, "prompt"))
      return scripted_response{400, R"({"error":"prompt required"})", {}, 0};
    json::document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    json::value vec(rapidjson::kArrayType);
    for (double x : toy_embedding(*json::get_string(*body, "prompt")))
      vec.PushBack(x, a);
    out.AddMember("embedding", vec, a);
    return scripted_response{200, json::dump(out), {}, 0};
  });
}

} // namespace eventide::testing
