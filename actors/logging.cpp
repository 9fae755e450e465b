#include "actors/logging.hpp"

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/support/date_time.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <boost/log/utility/setup/console.hpp>
#include <boost/log/utility/setup/file.hpp>

namespace eventide {

bool init_logging(const std::string& level, const std::string& file) {
  namespace logging = boost::log;
  namespace expr = boost::log::expressions;
  using sev = logging::trivial::severity_level;
  static const std::pair<const char*, sev> levels[] = {
    {"trace", sev::trace}, {"debug", sev::debug},   {"info", sev::info},
    {"warning", sev::warning}, {"error", sev::error}, {"fatal", sev::fatal}};
  const sev* chosen = nullptr;
  for (auto& [name, s] : levels)
    if (level == name)
      chosen = &s;
  if (!chosen)
    return false;
  logging::core::get()->remove_all_sinks();
  logging::add_common_attributes();
  auto format = expr::stream
                << expr::format_date_time<boost::posix_time::ptime>("TimeStamp",
                                                                    "%Y-%m-%dT%H:%M:%S.%f")
                << " " << logging::trivial::severity << " " << expr::smessage;
  logging::add_console_log(std::clog, logging::keywords::format = format);
  if (!file.empty())
    logging::add_file_log(logging::keywords::file_name = file,
                          logging::keywords::open_mode = std::ios_base::app,
                          logging::keywords::auto_flush = true,
                          logging::keywords::format = format);
  logging::core::get()->set_filter(logging::trivial::severity >= *chosen);
  return true;
}

} // namespace eventide
