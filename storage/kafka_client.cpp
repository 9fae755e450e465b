// The Kafka log's shared client code (kafka_client.hpp): broker features by version, the
// librdkafka properties of producer and consumer handles, handle creation, watermark queries.
#include "storage/kafka_client.hpp"

#include <cstdio>
#include <thread>

namespace eventide::storage {

broker_features features_for(const std::string& fallback) {
  broker_features f;
  if (fallback.empty())
    return f;
  int major = 0, minor = 0, patch = 0;
  std::sscanf(fallback.c_str(), "%d.%d.%d", &major, &minor, &patch);
  auto at_least = [&](int ma, int mi, int pa) {
    if (major != ma)
      return major > ma;
    if (minor != mi)
      return minor > mi;
    return patch >= pa;
  };
  f.api_version_request = at_least(0, 10, 0);
  f.admin_api = at_least(0, 10, 1);
  f.idempotence = at_least(0, 11, 0);
  f.transactions = at_least(0, 11, 0);
  f.headers = at_least(0, 11, 0);
  return f;
}

namespace {

// Warnings librdkafka logs for a condition it retries by itself and that is expected to pass:
// noted (health.json, failure suffixes) but not printed. A broker that has just started (Kafka 4
// within a second or two of its start) answers the idempotent producer's InitProducerId with
// COORDINATOR_LOAD_IN_PROGRESS, and librdkafka logs "Failed to acquire idempotence PID from
// broker ...: Coordinator load in progress: retrying" for every retry. If it never passes, the
// records' delivery times out and that failure carries the note.
bool transient_warning(const char* facility, const char* text) {
  const std::string f = facility, t = text;
  auto ends_with = [&](const std::string& tail) {
    return t.size() >= tail.size() && t.compare(t.size() - tail.size(), tail.size(), tail) == 0;
  };
  return f == "GETPID" && t.find("Coordinator load in progress") != std::string::npos
         && ends_with("retrying");
}

void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  if (level > 4) // syslog levels: 4 = warning
    return;
  if (!transient_warning(facility, text))
    std::fprintf(stderr, "librdkafka %s [%s]: %s\n", rd_kafka_name(rk), facility, text);
  if (auto* ctx = static_cast<client_context*>(rd_kafka_opaque(rk)))
    ctx->diag->note(text);
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* ctx = static_cast<client_context*>(opaque);
  std::string text = std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)))
                     + ": " + reason;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512];
    rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    text += std::string(" - ") + fatal;
    std::fprintf(stderr, "librdkafka %s fatal: %s\n", rd_kafka_name(rk), text.c_str());
  }
  if (ctx)
    ctx->diag->note(text);
}

} // namespace

// Settings shared by every handle, then the role's, then the user's extra properties.
outcome<void> configure(conf_holder& c, const kafka_options& o, handle_role role,
                        const std::vector<std::pair<std::string, std::string>>& role_props,
                        client_context* ctx) {
  const broker_features f = features_for(o.broker_version_fallback);
  std::vector<std::pair<std::string, std::string>> props = {
    {"bootstrap.servers", o.brokers},
    {"client.id", o.client_id},
    {"socket.nagle.disable", "true"}, // small records, latency matters more than packing
  };
  if (!o.broker_version_fallback.empty()) {
    props.push_back({"broker.version.fallback", o.broker_version_fallback});
    if (!f.api_version_request)
      props.push_back({"api.version.request", "false"});
  }
  if (role == handle_role::producer) {
    props.push_back({"acks", "all"});
    props.push_back({"linger.ms", "0"});
    if (f.idempotence)
      props.push_back({"enable.idempotence", "true"});
    // One request in flight per connection, with or without idempotence. Without it, a retried
    // request could overtake the next one. With it, librdkafka 2.0.2 (Debian 12) lost a record
    // after retriable errors when several requests were in flight: the first record was
    // acknowledged (offset -1, "already written") but never stored, in 3-4 of 40 runs of the
    // mock-cluster fault test ("retriable produce errors still deliver once and in order");
    // with one in flight, 0 of 40. librdkafka 2.3 fixed idempotent-producer sequence handling
    // after retries (its PR #4438).
    props.push_back({"max.in.flight.requests.per.connection", "1"});
    // Our partition count, not the broker's default, for topics we create.
    if (f.admin_api && f.api_version_request)
      props.push_back({"allow.auto.create.topics", "false"});
  } else {
    props.push_back({"enable.auto.commit", "false"});
    props.push_back({"enable.auto.offset.store", "false"});
    props.push_back({"session.timeout.ms", std::to_string(o.session_timeout_ms)});
    props.push_back({"partition.assignment.strategy", "roundrobin"});
    // Brokers answer a waiting fetch as soon as data arrives, so a long wait costs no latency
    // and keeps idle consumers quiet. (librdkafka's mock cluster always waits it out: use
    // extra {"consumer.fetch.wait.max.ms", "1"} there.)
    props.push_back({"fetch.wait.max.ms", "100"});
    // The end of a partition is reported (take()): a transaction's commit or abort marker
    // takes an offset that no record has, so after a transactional writer the position of the
    // last record read never reaches the high watermark.
    props.push_back({"enable.partition.eof", "true"});
  }
  props.insert(props.end(), role_props.begin(), role_props.end());
  // "producer."/"consumer." prefixed extras go to that role only (librdkafka warns about
  // properties a handle ignores); plain keys go to every handle.
  const std::string mine = role == handle_role::producer ? "producer." : "consumer.";
  const std::string other = role == handle_role::producer ? "consumer." : "producer.";
  for (const auto& [key, value] : o.extra) {
    if (key.rfind(mine, 0) == 0)
      props.push_back({key.substr(mine.size()), value});
    else if (key.rfind(other, 0) != 0)
      props.push_back({key, value});
  }
  for (const auto& [key, value] : props)
    if (auto ok = c.set(key, value); !ok)
      return ok;
  rd_kafka_conf_set_log_cb(c.conf, on_log);
  rd_kafka_conf_set_error_cb(c.conf, on_error);
  rd_kafka_conf_set_opaque(c.conf, ctx);
  return {};
}

outcome<rd_kafka_t*> new_handle(conf_holder& c, handle_role role) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(role == handle_role::producer ? RD_KAFKA_PRODUCER
                                                              : RD_KAFKA_CONSUMER,
                                c.conf, err, sizeof err);
  if (!rk)
    return fail(std::string("kafka: cannot create client: ") + err);
  c.conf = nullptr; // owned by rk now
  return rk;
}

namespace {

// Errors of a partition whose leadership is being settled: a new topic (on Kafka 4 a
// partition's leader shows in the metadata a moment before it serves ListOffsets), a leader
// election, a broker that just restarted. They pass by themselves.
bool leadership_moving(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
      return true;
    default:
      return false;
  }
}

} // namespace

// Asks the broker for a partition's low/high watermarks; retries for up to leader_wait_ms while
// the partition's leadership is moving.
outcome<std::optional<log_offset>> fetch_committed(rd_kafka_t* rk, const std::string& group,
                                                   const topic_partition& tp,
                                                   const diagnostics& diag) {
  partition_list parts;
  auto* p = parts.add(tp, RD_KAFKA_OFFSET_INVALID);
  auto err = rd_kafka_committed(rk, parts.list, metadata_timeout_ms);
  if (!err)
    err = p->err;
  if (err)
    return fail("kafka: committed offset of group '" + group + "' for " + to_string(tp) + ": "
                + rd_kafka_err2str(err) + diag.suffix());
  if (p->offset < 0) // RD_KAFKA_OFFSET_INVALID: never committed
    return std::optional<log_offset>{};
  return std::optional<log_offset>{log_offset{p->offset}};
}

outcome<watermarks> fetch_watermarks(rd_kafka_t* rk, const topic_partition& tp,
                                     const diagnostics& diag) {
  const auto deadline = steady::now() + std::chrono::milliseconds(leader_wait_ms);
  for (;;) {
    int64_t low = 0, high = 0;
    auto err = rd_kafka_query_watermark_offsets(rk, tp.topic.c_str(), tp.partition, &low, &high,
                                                metadata_timeout_ms);
    if (!err)
      return watermarks{log_offset{low}, log_offset{high}};
    if (!leadership_moving(err))
      return fail("kafka: watermarks of " + to_string(tp) + ": " + rd_kafka_err2str(err)
                  + diag.suffix());
    if (steady::now() >= deadline)
      return fail("kafka: watermarks of " + to_string(tp) + ": " + rd_kafka_err2str(err)
                  + " for " + std::to_string(leader_wait_ms / 1000) + " s" + diag.suffix());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

} // namespace eventide::storage
