// Shared by the libFuzzer targets in this folder: a property that must hold for every input
// aborts with a message, so libFuzzer saves the input like any crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, what)                                                                   \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s) at %s:%d\n", #cond,                       \
                   std::string(what).c_str(), __FILE__, __LINE__);                               \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
