// The shop service without HTTP: exact answers, stock, idempotency keys, every refusal, and
// what survives closing and reopening its store.
#include "tests/shop/shop_fixture.hpp"

using eventide::testing::shop_fixture;

namespace {

const std::string placed_two_buds =
    R"({"orderId":"o-1","product":"tidal-buds","name":"Tidal Buds","quantity":2,)"
    R"("unitPrice":129.00,"currency":"GBP","total":258.00,"status":"placed"})";
const std::string cancelled_two_buds =
    R"({"orderId":"o-1","product":"tidal-buds","name":"Tidal Buds","quantity":2,)"
    R"("unitPrice":129.00,"currency":"GBP","total":258.00,"status":"cancelled"})";

} // namespace

TEST_CASE("shop: an order's total, stock taken and given back once by cancel", "[shop]") {
  shop_fixture f;
  f.open();
  auto placed = f.post("/orders", "k-place", R"({"product":"Tidal Buds","quantity":2})");
  CHECK(placed.status == 201);
  CHECK(placed.body == placed_two_buds);
  CHECK_FALSE(placed.replayed);
  CHECK(f.stock("tidal-buds") == 0);
  CHECK(f.get("/orders/o-1").body == placed_two_buds);

  auto cancelled = f.post("/orders/o-1/cancel", "k-cancel-1");
  CHECK(cancelled.status == 200);
  CHECK(cancelled.body == cancelled_two_buds);
  CHECK(f.stock("tidal-buds") == 2);
  // Cancelling again with a new key: the same answer, no second restock, no second effect.
  auto again = f.post("/orders/o-1/cancel", "k-cancel-2");
  CHECK(again.status == 200);
  CHECK(again.body == cancelled_two_buds);
  CHECK_FALSE(again.replayed);
  CHECK(f.stock("tidal-buds") == 2);
  CHECK(f.get("/effects").body
        == R"([{"seq":1,"kind":"order_placed","id":"o-1","idempotencyKey":"k-place"},)"
           R"({"seq":2,"kind":"order_cancelled","id":"o-1","idempotencyKey":"k-cancel-1"}])");

  // By id as well as by name (any case); a customer is kept.
  auto by_id = f.post("/orders", "k-id", R"({"product":"aurora-x1","quantity":3,"customer":"ann"})");
  CHECK(by_id.status == 201);
  CHECK(by_id.body
        == R"({"orderId":"o-2","product":"aurora-x1","name":"Aurora X1","quantity":3,)"
           R"("unitPrice":1299.00,"currency":"USD","total":3897.00,"customer":"ann","status":"placed"})");
  CHECK(f.post("/orders", "k-lower", R"({"product":"aurora X1","quantity":1})").status == 201);
  CHECK(f.stock("aurora-x1") == 1);
}

TEST_CASE("shop: a key answers once, a replay is byte-identical and applies nothing", "[shop]") {
  shop_fixture f;
  f.open();
  auto body = R"({"product":"tidal-buds","quantity":1})";
  auto first = f.post("/orders", "same-key", body);
  REQUIRE(first.status == 201);
  auto second = f.post("/orders", "same-key", body);
  CHECK(second.status == 201);
  CHECK(second.body == first.body);
  CHECK(second.replayed);
  // The same object written differently is the same request.
  auto spaced = f.post("/orders", "same-key", "{ \"product\" : \"tidal-buds\", \"quantity\" : 1 }");
  CHECK(spaced.replayed);
  CHECK(spaced.body == first.body);
  CHECK(f.effects("order_placed") == 1);
  CHECK(f.stock("tidal-buds") == 1);

  auto other_body = f.post("/orders", "same-key", R"({"product":"tidal-buds","quantity":2})");
  CHECK(other_body.status == 422);
  CHECK(other_body.body
        == R"({"error":"idempotency_key_reused","message":"this Idempotency-Key was used for another request"})");
  CHECK_FALSE(other_body.replayed);
  CHECK(f.post("/orders/o-1/cancel", "same-key").status == 422); // another path
  CHECK(f.effects("order_placed") == 1);
  CHECK(f.effects("order_cancelled") == 0);
}

TEST_CASE("shop: refused orders, with their status and error code", "[shop]") {
  shop_fixture f;
  f.open();
  auto unknown = f.post("/orders", "u", R"({"product":"Aurora X2","quantity":1})");
  CHECK(unknown.status == 404);
  CHECK(unknown.body == R"({"error":"unknown_product","message":"unknown product 'Aurora X2'"})");

  int n = 0;
  for (auto bad : {R"({"product":"tidal-buds","quantity":0})", R"({"product":"tidal-buds","quantity":-1})",
                   R"({"product":"tidal-buds","quantity":1.5})", R"({"product":"tidal-buds","quantity":"2"})",
                   R"({"product":"tidal-buds"})", R"({"quantity":1})", R"({"product":7,"quantity":1})",
                   R"({"product":"tidal-buds","quantity":1,"customer":5})", "[1,2]", "not json", "",
                   R"({"product":"tidal-buds","product":"aurora-x1","quantity":1})"}) {
    INFO(bad);
    auto r = f.post("/orders", "bad-" + std::to_string(n++), bad);
    CHECK(r.status == 400);
    CHECK(r.body.rfind(R"({"error":"bad_request","message":")", 0) == 0);
  }
  CHECK(f.post("/orders", "q0", R"({"product":"tidal-buds","quantity":0})").body
        == R"({"error":"bad_request","message":"\"quantity\" must be a whole number above 0"})");

  auto short_stock = f.post("/orders", "five", R"({"product":"Tidal Buds","quantity":5})");
  CHECK(short_stock.status == 409);
  CHECK(short_stock.body == R"({"error":"out_of_stock","message":"only 2 Tidal Buds left, 5 asked"})");
  CHECK(f.post("/orders", "none", R"({"product":"nimbus-pro","quantity":1})").body
        == R"({"error":"out_of_stock","message":"Nimbus Pro is out of stock, 1 asked"})");

  // Keys: required on every POST, bounded, printable.
  auto no_key = f.post("/orders", "", R"({"product":"tidal-buds","quantity":1})");
  CHECK(no_key.status == 400);
  CHECK(no_key.body.find(R"("error":"idempotency_key_required")") != std::string::npos);
  CHECK(f.post("/orders", std::string(256, 'k'), "{}").status == 400);
  CHECK(f.post("/orders", std::string(255, 'k'), R"({"product":"tidal-buds","quantity":1})").status == 201);
  CHECK(f.post("/orders", "tab\tkey", "{}").body.find("idempotency_key_invalid") != std::string::npos);
  auto huge = f.post("/orders", "huge", std::string(64 * 1024 + 1, ' '));
  CHECK(huge.status == 413);
  CHECK(huge.body.find(R"("error":"body_too_large")") != std::string::npos);

  // An error is the key's answer too: after stock comes back, "five" still says out of stock.
  CHECK(f.post("/orders/o-1/cancel", "give-back").status == 200);
  CHECK(f.stock("tidal-buds") == 2);
  auto replay = f.post("/orders", "five", R"({"product":"Tidal Buds","quantity":5})");
  CHECK(replay.status == 409);
  CHECK(replay.replayed);
  CHECK(replay.body == short_stock.body);
  CHECK(f.effects("order_placed") == 1);
}

TEST_CASE("shop: payments must match the total in the currency and stay under the card limit", "[shop]") {
  shop_fixture f;
  f.open();
  REQUIRE(f.post("/orders", "o1", R"({"product":"tidal-buds","quantity":2})").status == 201); // 258.00 GBP
  auto in_gbp = f.post("/payments", "p1", R"({"orderId":"o-1","amount":258,"currency":"GBP"})");
  CHECK(in_gbp.status == 201);
  CHECK(in_gbp.body
        == R"({"paymentId":"p-1","orderId":"o-1","amount":258.00,"currency":"GBP","status":"charged"})");
  auto twice = f.post("/payments", "p1-again", R"({"orderId":"o-1","amount":258,"currency":"GBP"})");
  CHECK(twice.status == 409);
  CHECK(twice.body == R"j({"error":"already_paid","message":"order o-1 is already paid (p-1)"})j");

  // 258.00 GBP = 324.22 USD at the shop's rates; a cent either way is rounding.
  REQUIRE(f.post("/orders", "o2", R"({"product":"aurora-x1","quantity":1})").status == 201);
  auto mismatch = f.post("/payments", "p2", R"({"orderId":"o-2","amount":1200,"currency":"EUR"})");
  CHECK(mismatch.status == 400);
  CHECK(mismatch.body
        == R"({"error":"amount_mismatch","message":"amount 1200.00 EUR does not match order o-2: expected 1195.03 EUR"})");
  auto unknown = f.post("/payments", "p3", R"({"orderId":"o-2","amount":1299,"currency":"XYZ"})");
  CHECK(unknown.status == 400);
  CHECK(unknown.body == R"({"error":"unknown_currency","message":"unknown currency 'XYZ'"})");
  CHECK(f.post("/payments", "p4", R"({"orderId":"o-2","amount":1195.04,"currency":"eur"})").status == 201);
  CHECK(f.get("/payments/p-2").body
        == R"({"paymentId":"p-2","orderId":"o-2","amount":1195.04,"currency":"EUR","status":"charged"})");

  REQUIRE(f.post("/orders", "o3", R"({"product":"tidal-buds","quantity":0})").status == 400);
  REQUIRE(f.post("/orders/o-1/cancel", "c1").status == 200); // a paid order may be cancelled
  REQUIRE(f.post("/orders", "o3b", R"({"product":"tidal-buds","quantity":2})").status == 201); // o-3
  CHECK(f.post("/payments", "p5", R"({"orderId":"o-3","amount":324.21,"currency":"USD"})").status == 201);
  REQUIRE(f.post("/orders", "o4", R"({"product":"aurora-x1","quantity":2})").status == 201); // o-4, 2598 USD
  auto declined = f.post("/payments", "p6", R"({"orderId":"o-4","amount":2598,"currency":"USD"})");
  CHECK(declined.status == 402);
  CHECK(declined.body
        == R"({"error":"card_declined","message":"card declined: 2598.00 USD is over the limit of 2000.00 USD"})");
  CHECK(f.post("/payments", "p7", R"({"orderId":"o-4","amount":2390.06,"currency":"EUR"})").body
        == R"({"error":"card_declined","message":"card declined: 2598.00 USD is over the limit of 2000.00 USD"})");
  // A declined card stays declined for its key.
  auto replayed = f.post("/payments", "p6", R"({"orderId":"o-4","amount":2598,"currency":"USD"})");
  CHECK(replayed.status == 402);
  CHECK(replayed.replayed);

  for (auto bad : {R"({"orderId":"o-4","amount":0,"currency":"USD"})",
                   R"({"orderId":"o-4","amount":-5,"currency":"USD"})",
                   R"({"orderId":"o-4","amount":"2598","currency":"USD"})",
                   R"({"orderId":"o-4","currency":"USD"})", R"({"amount":1,"currency":"USD"})",
                   R"({"orderId":"o-4","amount":1})"}) {
    INFO(bad);
    CHECK(f.post("/payments", std::string("bad ") + bad, bad).status == 400);
  }
  auto no_order = f.post("/payments", "p8", R"({"orderId":"o-99","amount":1,"currency":"USD"})");
  CHECK(no_order.status == 404);
  CHECK(no_order.body == R"({"error":"unknown_order","message":"unknown order 'o-99'"})");
  auto cancelled = f.post("/payments", "p9", R"({"orderId":"o-1","amount":258,"currency":"GBP"})");
  CHECK(cancelled.status == 409);
  CHECK(cancelled.body == R"({"error":"order_cancelled","message":"order o-1 is cancelled"})");

  // Refunds happen once; the order may then be paid again.
  auto refunded = f.post("/payments/p-2/refund", "r1");
  CHECK(refunded.status == 200);
  CHECK(refunded.body
        == R"({"paymentId":"p-2","orderId":"o-2","amount":1195.04,"currency":"EUR","status":"refunded"})");
  CHECK(f.post("/payments/p-2/refund", "r2").body == refunded.body);
  CHECK(f.effects("payment_refunded") == 1);
  CHECK(f.post("/payments/p-77/refund", "r3").status == 404);
  CHECK(f.post("/payments", "p10", R"({"orderId":"o-2","amount":1299,"currency":"USD"})").status == 201);
  CHECK(f.effects("payment_charged") == 4);
}

TEST_CASE("shop: shipments need a paid order and a served city", "[shop]") {
  shop_fixture f;
  f.open();
  REQUIRE(f.post("/orders", "o1", R"({"product":"aurora-x1","quantity":1})").status == 201);
  auto unpaid = f.post("/shipments", "s0", R"({"orderId":"o-1","city":"Berlin"})");
  CHECK(unpaid.status == 409);
  CHECK(unpaid.body == R"({"error":"not_paid","message":"order o-1 is not paid"})");
  REQUIRE(f.post("/payments", "p1", R"({"orderId":"o-1","amount":1299,"currency":"USD"})").status == 201);
  auto atlantis = f.post("/shipments", "s1", R"({"orderId":"o-1","city":"Atlantis"})");
  CHECK(atlantis.status == 422);
  CHECK(atlantis.body == R"({"error":"no_shipping","message":"no shipping to Atlantis"})");
  auto booked = f.post("/shipments", "s2", R"({"orderId":"o-1","city":" new york "})");
  CHECK(booked.status == 201);
  CHECK(booked.body == R"({"shipmentId":"s-1","orderId":"o-1","city":"New York","status":"booked"})");
  CHECK(f.post("/shipments", "s3", R"({"orderId":"o-1","city":"Berlin"})").body
        == R"({"error":"already_shipped","message":"order o-1 already has shipment s-1"})");

  // Goods on their way: neither the order nor the payment can be undone first.
  auto cancel = f.post("/orders/o-1/cancel", "c1");
  CHECK(cancel.status == 409);
  CHECK(cancel.body
        == R"({"error":"shipped","message":"order o-1 has an active shipment s-1; cancel the shipment first"})");
  CHECK(f.post("/payments/p-1/refund", "r1").status == 409);

  auto unbooked = f.post("/shipments/s-1/cancel", "x1");
  CHECK(unbooked.status == 200);
  CHECK(unbooked.body == R"({"shipmentId":"s-1","orderId":"o-1","city":"New York","status":"cancelled"})");
  CHECK(f.post("/shipments/s-1/cancel", "x2").body == unbooked.body);
  CHECK(f.effects("shipment_cancelled") == 1);
  CHECK(f.post("/shipments/s-9/cancel", "x3").status == 404);
  CHECK(f.post("/payments/p-1/refund", "r2").status == 200);
  CHECK(f.post("/orders/o-1/cancel", "c2").status == 200);
  CHECK(f.stock("aurora-x1") == 5);
  auto late = f.post("/shipments", "s4", R"({"orderId":"o-1","city":"Berlin"})");
  CHECK(late.status == 409);
  CHECK(late.body == R"({"error":"order_cancelled","message":"order o-1 is cancelled"})");
  CHECK(f.get("/effects").body.find(
            R"({"seq":6,"kind":"order_cancelled","id":"o-1","idempotencyKey":"c2"})")
        != std::string::npos);
}

TEST_CASE("shop: GET routes, unknown routes and methods", "[shop]") {
  shop_fixture f;
  f.open();
  CHECK(f.get("/health").body == R"({"status":"ok"})");
  CHECK(f.get("/stock").body
        == R"({"products":[{"product":"aurora-x1","name":"Aurora X1","stock":5},)"
           R"({"product":"nimbus-pro","name":"Nimbus Pro","stock":0},)"
           R"({"product":"tidal-buds","name":"Tidal Buds","stock":2}]})");
  CHECK(f.get("/stock/Tidal%20Buds").body == R"({"product":"tidal-buds","name":"Tidal Buds","stock":2})");
  CHECK(f.get("/stock/nope").status == 404);
  CHECK(f.get("/effects").body == "[]");
  CHECK(f.get("/orders/o-1").body == R"({"error":"unknown_order","message":"unknown order 'o-1'"})");
  CHECK(f.get("/payments/p-1").status == 404);
  CHECK(f.get("/shipments/s-1").body.find("unknown_shipment") != std::string::npos);
  auto lost = f.get("/warehouse");
  CHECK(lost.status == 404);
  CHECK(lost.body == R"({"error":"not_found","message":"no route GET /warehouse"})");
  CHECK(f.get("/orders").status == 405);
  CHECK(f.post("/stock", "k").status == 405);
  CHECK(f.get("/orders/o-1/cancel").status == 405);
  CHECK(f.shop->handle({"DELETE", "/orders/o-1", "k", ""}).status == 405);
  CHECK(f.get("/orders/%FF%00").body == R"({"error":"unknown_order","message":"unknown order '??'"})");
  CHECK(f.get("/health?verbose=1").status == 200);
}

TEST_CASE("shop: stock, records and keys survive closing and reopening the store", "[shop]") {
  shop_fixture f;
  f.open();
  auto placed = f.post("/orders", "k1", R"({"product":"tidal-buds","quantity":1})");
  REQUIRE(placed.status == 201);
  REQUIRE(f.post("/payments", "k2", R"({"orderId":"o-1","amount":129,"currency":"GBP"})").status == 201);
  f.close();
  f.open(); // the products still say stock 2: the store is the truth now
  CHECK(f.stock("tidal-buds") == 1);
  CHECK(f.get("/orders/o-1").body == placed.body);
  auto replay = f.post("/orders", "k1", R"({"product":"tidal-buds","quantity":1})");
  CHECK(replay.replayed);
  CHECK(replay.body == placed.body);
  CHECK(f.effects("order_placed") == 1);
  CHECK(f.post("/payments", "k3", R"({"orderId":"o-1","amount":129,"currency":"GBP"})").status == 409);
  auto next = f.post("/orders", "k4", R"({"product":"aurora-x1","quantity":1})");
  CHECK(next.body.find(R"("orderId":"o-2")") != std::string::npos);
  CHECK(f.get("/effects").body.find(R"("seq":3,"kind":"order_placed","id":"o-2")") != std::string::npos);
}

TEST_CASE("shop: settings, the bundled products, and refusals to open", "[shop]") {
  shop_fixture f;
  f.settings.card_limit_usd = 100;
  f.settings.shipping_cities = {"Lisbon"};
  f.open();
  REQUIRE(f.post("/orders", "o1", R"({"product":"tidal-buds","quantity":1})").status == 201);
  CHECK(f.post("/payments", "p1", R"({"orderId":"o-1","amount":129,"currency":"GBP"})").body
        == R"({"error":"card_declined","message":"card declined: 162.11 USD is over the limit of 100.00 USD"})");

  // A second shop on the same store is refused (RocksDB's lock), with the reason.
  auto second = eventide::shop::shop_service::open(f.settings);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().find("in use") != std::string::npos);
  f.close();

  auto bad = f.settings;
  bad.products_dir = f.dir.path + "/none";
  CHECK(eventide::shop::shop_service::open(bad).error().find("does not exist") != std::string::npos);
  bad = f.settings;
  bad.card_limit_usd = 0;
  CHECK_FALSE(eventide::shop::shop_service::open(bad).ok());
  eventide::testing::write_shop_product(f.settings.products_dir, "odd", "Odd", "1.00", "USD", "many");
  auto odd = eventide::shop::shop_service::open(f.settings);
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.error().find("stock 'many' is not a whole number") != std::string::npos);

  // Every bundled product has a stock line; one has a single unit.
  eventide::testing::temp_dir bundled_dir{"eventide-shop-bundled"};
  eventide::shop::shop_settings bundled;
  bundled.data_dir = bundled_dir.path;
  bundled.products_dir = EVENTIDE_SOURCE_DIR "/products";
  bundled.exchange_rates_file = EVENTIDE_SOURCE_DIR "/config/exchange-rates.json";
  auto shop = eventide::shop::shop_service::open(bundled);
  REQUIRE(shop.ok());
  auto stock = (*shop)->handle({"GET", "/stock", "", ""}).body;
  CHECK(stock.find(R"({"product":"zephyr-phone-8","name":"Zephyr Phone 8","stock":1})") != std::string::npos);
  CHECK(stock.find(R"("stock":0)") == std::string::npos);
}
