// The HTTP shop client on libcurl (the in-process one is inline in client.hpp). Kept here
// rather than on providers/http.hpp so that eventide_shop does not depend on the providers.
#include "shop/client.hpp"

#include <cctype>
#include <mutex>
#include <string_view>

#include <curl/curl.h>

namespace eventide::shop {

namespace {

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Notes "Idempotent-Replayed: true" among the final response's headers.
size_t note_replayed(char* data, size_t size, size_t count, void* user) {
  std::string_view line(data, size * count);
  auto* replayed = static_cast<bool*>(user);
  if (line.rfind("HTTP/", 0) == 0) {
    *replayed = false; // a new response (after 100 Continue) starts
  } else {
    std::string lower;
    for (char c : line)
      if (c != '\r' && c != '\n' && c != ' ')
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "idempotent-replayed:true")
      *replayed = true;
  }
  return size * count;
}

} // namespace

struct http_shop_client::handles {
  std::mutex mu;
  std::vector<CURL*> idle;
  ~handles() {
    for (auto* h : idle)
      curl_easy_cleanup(h);
  }
};

http_shop_client::http_shop_client(std::string base_url, http_shop_client_settings settings)
    : base_url_(std::move(base_url)), settings_(settings), handles_(std::make_unique<handles>()) {
  while (!base_url_.empty() && base_url_.back() == '/')
    base_url_.pop_back();
  curl_init_once();
}

http_shop_client::~http_shop_client() = default;

shop_response http_shop_client::call(const shop_request& request) {
  CURL* h = nullptr;
  {
    std::lock_guard<std::mutex> lk(handles_->mu);
    if (!handles_->idle.empty()) {
      h = handles_->idle.back();
      handles_->idle.pop_back();
    }
  }
  if (!h)
    h = curl_easy_init();
  if (!h)
    return shop_response{0, "HTTP request failed: cannot create a curl handle", false};
  curl_easy_reset(h); // keeps the connection cache: the next call reuses the connection

  std::string url = base_url_ + request.path;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Expect:"); // send the body at once, no 100-continue wait
  std::string key_header = "Idempotency-Key: " + request.idempotency_key;
  if (!request.idempotency_key.empty())
    headers = curl_slist_append(headers, key_header.c_str());
  if (request.method == "POST")
    headers = curl_slist_append(headers, "Content-Type: application/json");

  shop_response out;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  if (request.method != "GET" && request.method != "POST")
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, settings_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, settings_.timeout_ms);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, note_replayed);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &out.replayed);
  auto rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out.status = static_cast<int>(status);
  } else {
    out.status = 0;
    out.replayed = false;
    std::string what = rc == CURLE_OPERATION_TIMEDOUT ? "timed out"
                       : rc == CURLE_COULDNT_CONNECT  ? "connect failed"
                                                      : "HTTP request failed";
    out.body = what + ": " + url + ": " + curl_easy_strerror(rc);
  }
  {
    std::lock_guard<std::mutex> lk(handles_->mu);
    handles_->idle.push_back(h);
  }
  return out;
}

} // namespace eventide::shop
