// Reads the shop's products (front matter of products/*.md) and the exchange rates file.
#include "shop/products.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/json.hpp"
#include "core/text.hpp"

namespace eventide::shop {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The `key: value` lines between the opening and closing `---` (quotes around a value dropped).
outcome<std::map<std::string, std::string>> front_matter_of(const std::string& text,
                                                            const std::string& source) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || core::trim(line) != "---")
    return fail(source + ": expected '---' to open the front matter");
  std::map<std::string, std::string> fields;
  while (std::getline(in, line)) {
    auto t = core::trim(line);
    if (t == "---")
      return fields;
    auto colon = t.find(':');
    if (t.empty() || colon == std::string::npos)
      continue;
    auto value = core::trim(t.substr(colon + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')
        && value.back() == value.front())
      value = core::trim(value.substr(1, value.size() - 2));
    fields.emplace(core::trim(t.substr(0, colon)), value);
  }
  return fail(source + ": front matter is not closed with '---'");
}

outcome<shop_product> product_of(const std::map<std::string, std::string>& fields,
                                 const std::string& source) {
  for (const char* required : {"id", "name", "price", "currency"})
    if (!fields.count(required) || fields.at(required).empty())
      return fail(source + ": missing field '" + required + "'");
  shop_product p;
  p.id = fields.at("id");
  p.name = fields.at("name");
  p.currency = fields.at("currency");
  char* end = nullptr;
  const auto& price_text = fields.at("price");
  double price = std::strtod(price_text.c_str(), &end);
  auto price_cents = to_cents(price);
  if (*end != '\0' || !price_cents || *price_cents < 0)
    return fail(source + ": price '" + price_text + "' is not a number");
  p.price = *price_cents;
  if (auto it = fields.find("stock"); it != fields.end()) {
    const auto& s = it->second;
    if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), ::isdigit))
      return fail(source + ": stock '" + s + "' is not a whole number >= 0");
    p.initial_stock = std::stoll(s);
  }
  return p;
}

} // namespace

outcome<std::vector<shop_product>> load_shop_products(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return fail("product folder '" + dir + "' does not exist or is not a folder");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".md" && it->path().filename() != "README.md")
      files.push_back(it->path());
  if (ec)
    return fail("cannot list product folder '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<shop_product> products;
  for (const auto& path : files) {
    auto source = path.string();
    auto text = read_whole_file(path);
    if (!text)
      return fail(source + ": cannot be read");
    auto fields = front_matter_of(*text, source);
    if (!fields)
      return std::move(fields).take_failure();
    auto p = product_of(*fields, source);
    if (!p)
      return std::move(p).take_failure();
    products.push_back(std::move(*p));
  }
  if (products.empty())
    return fail("product folder '" + dir + "' has no product files (*.md)");
  return products;
}

std::optional<cents> exchange_rates::convert(cents amount, const std::string& from,
                                             const std::string& to) const {
  auto f = per_base.find(from), t = per_base.find(to);
  if (f == per_base.end() || t == per_base.end())
    return std::nullopt;
  if (from == to)
    return amount;
  return to_cents(static_cast<double>(amount) / 100.0 / f->second * t->second);
}

outcome<exchange_rates> load_exchange_rates(const std::string& file) {
  auto text = read_whole_file(file);
  if (!text)
    return fail("cannot read exchange rates " + file);
  auto doc = json::parse(*text);
  if (!doc)
    return fail(file + ": " + doc.error());
  auto base = json::get_string(*doc, "base");
  auto rates = doc->IsObject() ? doc->FindMember("rates") : doc->MemberEnd();
  if (!base || rates == doc->MemberEnd() || !rates->value.IsObject())
    return fail(file + ": expected {\"base\": \"EUR\", \"rates\": {\"USD\": 1.087, ...}}");
  exchange_rates r;
  r.base = *base;
  r.per_base[r.base] = 1.0;
  for (auto& m : rates->value.GetObject()) {
    std::string code = m.name.GetString();
    if (!m.value.IsNumber() || !(m.value.GetDouble() > 0) || !std::isfinite(m.value.GetDouble()))
      return fail(file + ": rate of " + code + " is not a positive number");
    r.per_base[code] = m.value.GetDouble();
  }
  return r;
}

} // namespace eventide::shop
