// The node (actors/node.hpp): one actor system hosting the roles it is given (DESIGN §6). Every
// role folds what its consumer bridge hands it and writes only through the node's producer
// bridge: roles never message each other. Each role is a file pair of actors/ (router,
// orchestrator, tool_worker, answer_roles, metrics_role); pure decisions live in core/
// (plan_state, answer_folds) and providers/ (planner, tools).
#include "actors/node.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>

#include "actors/answer_roles.hpp"
#include "actors/bridges.hpp"
#include "actors/crash_guard.hpp"
#include "actors/error.hpp"
#include "actors/logging.hpp"
#include "actors/metrics_role.hpp"
#include "actors/orchestrator.hpp"
#include "actors/router.hpp"
#include "actors/store_cover.hpp"
#include "actors/tool_worker.hpp"
#include "schemas/codec.hpp"
#include "shop/client.hpp"
#include "shop/money.hpp"
#include "shop/products.hpp"
#include "shop/tools.hpp"
#include "storage/kv_store.hpp"
#include "core/json.hpp"
#include "core/plan.hpp"
#include "core/text.hpp"
#include "providers/llm_planner.hpp"
#include "providers/planner.hpp"
#include "providers/tool_factory.hpp"

namespace eventide {

namespace {

std::string source_of(const node_options& o, const char* role) {
  return "eventide/" + std::string(role) + "/" + o.node_id;
}

} // namespace

void tune_scheduler(caf::actor_system_config& cfg) {
  // Every message from a consumer bridge (a detached thread) wakes a scheduler worker. CAF's
  // "moderate" idle phase sleeps 50 us between queue checks for ~25 ms before it waits on a
  // condition variable that enqueues signal; on a pipeline that idles between hops, skipping it
  // takes ~0.1 ms off every hop. Idle workers still spin briefly (the aggressive phase) first.
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
}

namespace {
// Each spawns one role of the table on a starting node (defined below node_state).
outcome<void> start_router(node_state& node, const role_spec& role);
outcome<void> start_orchestrator(node_state& node, const role_spec& role);
outcome<void> start_aggregator(node_state& node, const role_spec& role);
outcome<void> start_synthesis(node_state& node, const role_spec& role);
outcome<void> start_worker(node_state& node, const role_spec& role);
outcome<void> start_metrics(node_state& node, const role_spec& role);
} // namespace

const std::vector<role_spec>& role_table() {
  static const std::vector<role_spec> table = [] {
    using T = topics;
    std::vector<role_spec> r = {
      {"router", "router", {&T::user_commands, &T::conversation_events}, true, false,
       start_router},
      {"orchestrator", "orchestrator", {&T::conversation_events, &T::tool_requests}, true, false,
       start_orchestrator},
      {"aggregator", "aggregator", {&T::user_commands, &T::conversation_events}, true, false,
       start_aggregator},
      {"synthesis", "synthesis", {&T::user_commands, &T::conversation_events}, true, false,
       start_synthesis}};
    // One group per tool of the catalog reads every request; each decodes only its own tool's.
    for (const auto& tool : core::tool_catalog())
      r.push_back({"worker-" + tool.name, "tool-" + tool.name, {&T::tool_requests}, false, false,
                   start_worker});
    // No consumer group: the metrics projection reads every partition itself.
    r.push_back({"metrics", "", {}, false, true, start_metrics});
    return r;
  }();
  return table;
}

const role_spec& role_spec_of(const std::string& name) {
  for (auto& r : role_table())
    if (r.name == name)
      return r;
  throw std::out_of_range("unknown role " + name);
}

std::vector<std::string> role_spec::topics_in(const topics& t) const {
  std::vector<std::string> out;
  for (auto topic : reads)
    out.push_back(t.*topic);
  return out;
}

namespace {

std::vector<std::string> role_names(bool (*keep)(const role_spec&)) {
  std::vector<std::string> out;
  for (auto& r : role_table())
    if (keep(r))
      out.push_back(r.name);
  return out;
}

} // namespace

const std::vector<std::string>& worker_roles() {
  static const std::vector<std::string> roles = role_names(
    [](const role_spec& r) { return r.name.rfind("worker-", 0) == 0; });
  return roles;
}

const std::vector<std::string>& known_roles() {
  static const std::vector<std::string> roles = role_names(
    [](const role_spec& r) { return !r.optional; });
  return roles;
}

const std::vector<std::string>& optional_roles() {
  static const std::vector<std::string> roles = role_names(
    [](const role_spec& r) { return r.optional; });
  return roles;
}

std::optional<std::string> refusal(const role_spec& role, const std::string& topic_prefix,
                                   const storage::record& rec, const events::event& ev) {
  std::string home = events::topic_of(ev.data);
  if (rec.topic != topic_prefix + home)
    return std::string(events::type_name(ev.data)) + " belongs on '" + home + "', not on '"
           + rec.topic.substr(std::min(topic_prefix.size(), rec.topic.size())) + "'";
  if (role.name == "orchestrator")
    if (auto req = std::get_if<events::tool_invocation_requested>(&ev.data)) {
      auto& served = worker_roles();
      if (std::find(served.begin(), served.end(), "worker-" + req->tool) == served.end()) {
        std::string names;
        for (auto& w : served)
          names += (names.empty() ? "" : ", ") + w.substr(7);
        return "no tool group serves tool '" + core::shorten(req->tool) + "' (served: " + names
               + ")";
      }
    }
  return std::nullopt;
}

topics::topics(const std::string& prefix)
  : user_commands(prefix + "user-commands"),
    conversation_events(prefix + "conversation-events"),
    tool_requests(prefix + "tool-invocation-requests"),
    dead_letters(prefix + "dead-letter-queue") {
}

struct node_state {
  caf::actor_system& sys;
  std::shared_ptr<storage::log> log;
  node_options opts;
  producer_actor producer;
  std::vector<caf::actor> bridges;
  std::vector<caf::actor> others; // role actors and runners, stopped after the bridges
  std::shared_ptr<storage::kv_store> ledger;     // the workers' ledger
  std::unique_ptr<providers::tool_factory> tools; // the workers' tools
  std::shared_ptr<shop::shop_client> shop;         // what the shop tools call, made once
  std::shared_ptr<crash_guard> guard; // null: crash-loop guard off
  orchestrator_actor orchestrator;
  metrics_actor metrics;
  std::shared_ptr<std::atomic<bool>> orchestrator_live = std::make_shared<std::atomic<bool>>(false);

  node_state(caf::actor_system& s, std::shared_ptr<storage::log> l, node_options o)
    : sys(s), log(std::move(l)), opts(std::move(o)) {
  }

  // Where a role reads and writes. With exactly-once (Kafka 0.11+), a transactional handle of
  // its own, "<prefix><group>@<node id>": its consumer bridge commits the role's outputs and
  // input offsets together. Otherwise the node's log and producer.
  struct role_io {
    std::shared_ptr<storage::log> log;
    producer_actor producer;
  };
  std::map<std::string, role_io> ios; // by role name

  outcome<role_io> io_for(const role_spec& spec) {
    if (auto it = ios.find(spec.name); it != ios.end())
      return it->second;
    auto txn = log->open_transactional(opts.topic_prefix + spec.group + "@" + opts.node_id);
    if (!txn)
      return fail(txn.error());
    role_io io{log, producer};
    if (*txn) {
      io.log = std::move(*txn);
      io.producer = spawn_producer(sys, io.log, opts.topic_prefix);
    }
    ios.emplace(spec.name, io);
    return io;
  }

  // A consumer bridge feeding `role`, with the group, topics and restore mode of its row.
  void add(const role_spec& spec, role_actor role,
           std::function<bool(int32_t)> store_covers = nullptr,
           std::function<bool(const storage::record&)> skip = nullptr) {
    topics t(opts.topic_prefix);
    auto& io = ios.at(spec.name);
    consumer_bridge_config cfg;
    cfg.log = io.log;
    cfg.group = opts.topic_prefix + spec.group;
    cfg.topics = spec.topics_in(t);
    cfg.dead_letter_topic = t.dead_letters;
    cfg.node_id = opts.node_id;
    cfg.restore = spec.restore;
    cfg.store_covers = std::move(store_covers);
    cfg.skip = std::move(skip);
    if (guard)
      cfg.guard = guard->take(cfg.group);
    cfg.refuse = [spec, prefix = opts.topic_prefix](const storage::record& rec,
                                                    const events::event& ev) {
      return refusal(spec, prefix, rec, ev);
    };
    cfg.max_in_flight = opts.max_in_flight;
    others.push_back(caf::actor_cast<caf::actor>(role));
    bridges.push_back(spawn_consumer_bridge(sys, std::move(cfg), std::move(role), io.producer));
  }

  std::shared_ptr<providers::provider_runtime> runtime;

  // Starts every role the node hosts, in the role table's order (its row's start function).
  outcome<void> start() {
    if (opts.crash_loop_limit > 0 && !opts.data_dir.empty()) {
      // Opened before any bridge exists: the notes a dead run left become strikes, and every
      // bridge knows from its first poll whether the node starts in quarantine.
      std::vector<std::string> groups;
      for (auto& r : role_table())
        if (opts.roles.count(r.name) && !r.group.empty())
          groups.push_back(opts.topic_prefix + r.group);
      if (!groups.empty()) {
        auto g = crash_guard::open(opts.data_dir + "/crash-guard", opts.crash_loop_limit, groups);
        if (!g)
          return fail(g.error());
        guard = std::move(*g);
      }
    }
    producer = spawn_producer(sys, log, opts.topic_prefix);
    runtime = providers::make_provider_runtime(opts.providers, [](const std::string& m) {
      EV_LOG(info) << "providers: " << m;
    });
    for (auto& role : role_table())
      if (opts.roles.count(role.name))
        if (auto ok = role.start(*this, role); !ok)
          return ok;
    if (guard)
      guard->drop_untaken();
    EV_LOG(info) << "node " << opts.node_id << " started " << bridges.size()
                 << " consumer bridges on " << log->describe();
    return {};
  }

  void stop() {
    caf::scoped_actor self{sys};
    for (auto& b : bridges)
      self->send_exit(b, caf::exit_reason::user_shutdown);
    for (auto& b : bridges)
      self->wait_for(b);
    // Wait for roles and runners too: their stores (the ledger) close when they are gone.
    for (auto& a : others)
      self->send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : others)
      self->wait_for(a);
    // Producers last: roles may still write while they stop.
    for (auto& [name, io] : ios)
      if (io.producer != producer) {
        self->send_exit(io.producer, caf::exit_reason::user_shutdown);
        self->wait_for(io.producer);
      }
    ios.clear(); // closes the transactional handles (aborting what was not committed)
    if (producer) {
      self->send_exit(producer, caf::exit_reason::user_shutdown);
      self->wait_for(producer);
    }
    bridges.clear();
    others.clear();
    orchestrator = nullptr;
    metrics = nullptr;
    // Actors release their state (and so the stores' RocksDB locks) just after they exit: a
    // stopped node must have closed its stores, so a restart in this process can open them.
    ledger.reset();
    if (guard) {
      // Bridges clear their notes as their state goes; a restart in this process must not
      // find one and take the clean stop for a crash.
      if (!guard->wait_released(std::chrono::seconds(10)))
        EV_LOG(error) << "crash guard of " << opts.data_dir << " still in use after the node stopped";
      guard.reset();
    }
    for (auto dir : {"/worker-ledger", "/orchestrator-store", "/router-ledger"})
      if (!storage::kv_store::wait_until_closed(opts.data_dir + dir, std::chrono::seconds(10)))
        EV_LOG(error) << "store " << opts.data_dir << dir << " still open after the node stopped";
  }
};

namespace {

outcome<void> start_router(node_state& node, const role_spec& role) {
  auto& opts = node.opts;
  auto kv = storage::kv_store::open(opts.data_dir + "/router-ledger");
  if (!kv)
    return fail(kv.error());
  std::shared_ptr<storage::kv_store> store = std::move(*kv);
  // The planner knows the loaded catalog: names, brands, categories, description words.
  auto ctx = providers::load_planner_context(opts.resources + "/products");
  auto io = node.io_for(role);
  if (!io)
    return fail(io.error());
  auto covers = [store](int32_t p) { return take_cover(*store, p); };
  if (providers::offline_only(opts.providers.planning_chain)) {
    node.add(role,
             spawn_router(node.sys, io->producer, std::move(ctx), source_of(opts, "router"),
                          store, opts.memory_turns),
             covers);
    return {};
  }
  // LLM planning blocks on HTTP: the router runs detached, off the scheduler.
  router_config cfg;
  cfg.producer = io->producer;
  cfg.follow_up = offline_follow_ups(ctx);
  auto rt = node.runtime;
  cfg.reviser = [rt, ctx](const providers::revision_input& in, std::vector<std::string>& errors) {
    return providers::revise_with_chain(in, rt->planning(), ctx, {}, &errors);
  };
  cfg.planner = [rt, ctx, budget = opts.memory_tokens](
                  const std::string& query, const std::vector<const core::turn_memory*>& history,
                  std::vector<std::string>& errors) {
    providers::planning_options po;
    po.conversation = providers::memory_for_prompt(history, budget);
    return providers::plan_with_chain(query, rt->planning(), ctx, po, &errors);
  };
  cfg.source = source_of(opts, "router");
  cfg.store = store;
  cfg.memory_turns = opts.memory_turns;
  node.add(role, node.sys.spawn<caf::detached>(router, std::move(cfg)), covers);
  return {};
}

outcome<void> start_orchestrator(node_state& node, const role_spec& role) {
  auto& opts = node.opts;
  auto store = storage::kv_store::open(opts.data_dir + "/orchestrator-store");
  if (!store)
    return fail(store.error());
  std::shared_ptr<storage::kv_store> shared = std::move(*store);
  auto parts = node.log->partition_count(topics(opts.topic_prefix).conversation_events);
  if (!parts)
    return fail(parts.error());
  auto n = *parts;
  auto io = node.io_for(role);
  if (!io)
    return fail(io.error());
  auto policy = opts.policy;
  if (!policy.usd_value) {
    // The approval threshold is in USD: amounts are valued with the rates the shop uses.
    auto rates = shop::load_exchange_rates(opts.resources + "/config/exchange-rates.json");
    if (!rates)
      return fail("the orchestrator's exchange rates: " + rates.error());
    policy.usd_value = [rates = std::move(*rates)](double amount, const std::string& currency)
      -> std::optional<double> {
      auto c = shop::to_cents(amount);
      auto usd = c ? rates.convert(*c, currency, "USD") : std::nullopt;
      return usd ? std::optional<double>(static_cast<double>(*usd) / 100) : std::nullopt;
    };
  }
  auto o = spawn_orchestrator(node.sys, policy, io->producer, source_of(opts, "orchestrator"),
                              shared,
                              [n](const std::string& id) {
                                return storage::partition_for_key(id, n);
                              },
                              node.orchestrator_live, opts.passivate_after_ms);
  node.orchestrator = o;
  // Read once per assignment, before any record of the partition flows. The marker is taken
  // away at once: restore mode defers snapshots, so until the registry writes it back at
  // go-live, a restart must replay the partition from offset 0.
  node.add(role, o, [shared](int32_t p) { return take_cover(*shared, p); });
  return {};
}

outcome<void> start_worker(node_state& node, const role_spec& role) {
  auto& opts = node.opts;
  if (!node.ledger) { // one ledger for every tool kind of the node
    auto kv = storage::kv_store::open(opts.data_dir + "/worker-ledger");
    if (!kv)
      return fail(kv.error());
    node.ledger = std::move(*kv);
  }
  if (!node.tools)
    node.tools = std::make_unique<providers::tool_factory>(
      opts.resources, opts.data_dir, opts.providers, node.runtime,
      [](const std::string& m) { EV_LOG(warning) << m; });
  auto tool_name = role.name.substr(std::string("worker-").size());
  if (shop::is_shop_tool(tool_name) && !node.shop) {
    if (opts.shop_url.empty()) {
      // The embedded default: the same shop logic in this process, on its own store.
      auto settings = opts.shop;
      if (settings.data_dir.empty())
        settings.data_dir = opts.data_dir + "/shop";
      if (settings.products_dir.empty())
        settings.products_dir = opts.resources + "/products";
      if (settings.exchange_rates_file.empty())
        settings.exchange_rates_file = opts.resources + "/config/exchange-rates.json";
      auto service = shop::shop_service::open(std::move(settings));
      if (!service)
        return fail("the in-process shop: " + service.error());
      node.shop = std::make_shared<shop::in_process_shop_client>(
        std::shared_ptr<shop::shop_service>(std::move(*service)));
    } else {
      node.shop = std::make_shared<shop::http_shop_client>(opts.shop_url);
    }
    node.tools->add_tools([shop = node.shop, limits = node.runtime->limits](const std::string& name) {
      return shop::make_shop_tool(name, shop, limits);
    });
  }
  auto io = node.io_for(role);
  if (!io)
    return fail(io.error());
  auto w = spawn_worker(node.sys, tool_name, *node.tools, opts.tool_concurrency, node.ledger,
                        source_of(opts, role.name.c_str()), io->producer, node.others);
  if (!w)
    return fail(w.error());
  // Skip the requests for other tools undecoded.
  node.add(role, *w, nullptr, [tool_name](const storage::record& rec) {
    auto named = events::peek_requested_tool(rec.value);
    return named && *named != tool_name;
  });
  return {};
}

outcome<void> start_aggregator(node_state& node, const role_spec& role) {
  auto io = node.io_for(role);
  if (!io)
    return fail(io.error());
  node.add(role, spawn_aggregator(node.sys, io->producer, source_of(node.opts, "aggregator")));
  return {};
}

outcome<void> start_synthesis(node_state& node, const role_spec& role) {
  // With an LLM chain the synthesis role blocks on HTTP: it runs detached.
  auto llm = !providers::offline_only(node.opts.providers.synthesis_chain);
  auto io = node.io_for(role);
  if (!io)
    return fail(io.error());
  node.add(role, spawn_synthesis(node.sys, io->producer, source_of(node.opts, "synthesis"),
                                 llm ? node.runtime : nullptr));
  return {};
}

outcome<void> start_metrics(node_state& node, const role_spec&) {
  // No consumer bridge: the projection reads every partition itself, in no group.
  metrics_role_config mc;
  mc.log = node.log;
  mc.topic_prefix = node.opts.topic_prefix;
  node.metrics = caf::actor_cast<metrics_actor>(spawn_metrics_role(node.sys, std::move(mc)));
  node.others.push_back(caf::actor_cast<caf::actor>(node.metrics));
  return {};
}

} // namespace

node::node(
caf::actor_system& sys, std::shared_ptr<storage::log> log, node_options opts)
  : state_(std::make_unique<node_state>(sys, std::move(log), std::move(opts))) {
}

node::~node() {
  if (state_)
    state_->stop();
}

outcome<void> node::start() {
  return state_->start();
}

void node::stop() {
  state_->stop();
}

std::string node::health() {
  auto& im = *state_;
  caf::scoped_actor self{im.sys};
  json::document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  d.AddMember("node", json::str(im.opts.node_id, a), a);
  d.AddMember("time", now_ms(), a);
  d.AddMember("log", json::str(im.log->describe(), a), a);
  d.AddMember("logError", json::str(im.log->last_error(), a), a);
  auto ask = [&](auto actor) {
    std::string out = "{}";
    self->request(actor, std::chrono::seconds(2), health_atom::value)
      .receive([&](const std::string& h) { out = h; },
               [&](caf::error& err) { out = "{\"error\":" + json::quote(describe(err)) + "}"; });
    auto parsed = json::parse(out);
    return parsed ? json::value(*parsed, a) : json::value(rapidjson::kObjectType);
  };
  if (im.producer)
    d.AddMember("producer", ask(im.producer), a);
  // Exactly-once: each role writes through a transactional producer of its own.
  json::value txn(rapidjson::kObjectType);
  for (auto& [name, io] : im.ios)
    if (io.producer != im.producer)
      txn.AddMember(json::str(name, a), ask(io.producer), a);
  if (txn.MemberCount() > 0)
    d.AddMember("transactionalProducers", txn, a);
  json::value bridges(rapidjson::kArrayType);
  for (auto& b : im.bridges)
    bridges.PushBack(ask(b), a);
  d.AddMember("bridges", bridges, a);
  json::value providers(rapidjson::kObjectType);
  if (im.runtime && im.runtime->http)
    for (auto& [key, st] : im.runtime->http->all_stats()) {
      json::value o(rapidjson::kObjectType);
      o.AddMember("calls", st.calls, a);
      o.AddMember("requests", st.requests, a);
      o.AddMember("retries", st.retries, a);
      o.AddMember("failures", st.failures, a);
      o.AddMember("shortCircuits", st.short_circuits, a);
      o.AddMember("breaker", json::str(st.breaker, a), a);
      providers.AddMember(json::str(key, a), o, a);
    }
  d.AddMember("providers", providers, a);
  // Per-provider limits (DESIGN §15): what is configured, in flight, waiting, and waited.
  json::value limits(rapidjson::kObjectType);
  if (im.runtime && im.runtime->limits)
    for (auto& [name, st] : im.runtime->limits->stats()) {
      json::value o(rapidjson::kObjectType);
      o.AddMember("maxInFlight", st.limit.max_in_flight, a);
      o.AddMember("ratePerSecond", st.limit.rate_per_s, a);
      o.AddMember("inFlight", st.in_flight, a);
      o.AddMember("waiting", st.waiting, a);
      o.AddMember("granted", st.granted, a);
      o.AddMember("delayed", st.delayed, a);
      o.AddMember("waitedMs", st.waited_ms, a);
      limits.AddMember(json::str(name, a), o, a);
    }
  d.AddMember("limits", limits, a);
  if (im.metrics)
    d.AddMember("metrics", ask(im.metrics), a);
  return json::dump(d);
}

bool node::orchestrator_live() const {
  return state_->orchestrator_live->load();
}

outcome<std::string> node::orchestrator_digest() {
  if (!state_->orchestrator)
    return fail("this node runs no orchestrator");
  caf::scoped_actor self{state_->sys};
  outcome<std::string> out = fail("no answer from the orchestrator");
  self->request(state_->orchestrator, std::chrono::seconds(10), digest_atom::value)
    .receive([&](const std::string& d) { out = d; },
             [&](caf::error& err) { out = fail(describe(err)); });
  return out;
}

} // namespace eventide
