// Embedding ledgerbridge from C++ through its public API (ledgerbridge/ledgerbridge.hpp): the
// rule pack with a host directory written as a C++ class, items evaluated on two threads that
// share the pack.
//
//   embed_cpp <rules/demo> <items.jsonl>
#include <ledgerbridge/ledgerbridge.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// Our ERP's master data. Called from both threads at once: it only reads const tables.
class Erp final : public ledgerbridge::Directory {
 public:
  std::optional<ledgerbridge::Account> account(std::string_view code) override {
    static const std::map<std::string, std::optional<std::string>, std::less<>> chart = {
        {"1810", "GBP"}, {"1812", "EUR"}, {"5810", "DKK"}, {"1900", {}}, {"2000", {}}, {"2820", {}}, {"2640", {}},
        {"2830", {}},    {"14400", {}},   {"14500", {}},   {"6010", {}}, {"6110", {}}, {"6210", {}},
        {"7110", {}},    {"7310", {}},    {"8510", {}}};
    ++lookups;
    auto it = chart.find(code);
    if (it == chart.end()) return std::nullopt;
    return ledgerbridge::Account{.code = it->first, .name = "", .currency = it->second};
  }
  std::optional<ledgerbridge::Vendor> vendor_by_code(std::string_view code) override { return vendor(code); }
  std::optional<ledgerbridge::Vendor> vendor_by_external_id(std::string_view id) override { return vendor(id); }
  std::optional<ledgerbridge::Vendor> vendor_by_tax_number(std::string_view tax) override {
    return tax == "12345" ? vendor("V1001") : std::nullopt;
  }
  std::optional<ledgerbridge::TaxCode> tax_code(std::string_view code) override {
    if (code == "RC25")
      return ledgerbridge::TaxCode{.code = "RC25", .name = "Reverse charge 25%", .rate = 0.25, .type = "reverse",
                                   .ingoingTaxAccount = "14400", .outgoingTaxAccount = "14500"};
    if (code == "S20") return ledgerbridge::TaxCode{.code = "S20", .name = "Standard", .rate = 0.2, .type = "inclusive", .ingoingTaxAccount = "2640"};
    return std::nullopt;
  }
  std::optional<ledgerbridge::DimensionValue> dimension_value(std::string_view dimension,
                                                              std::string_view code) override {
    if (dimension != "DEPT" && dimension != "PROJ") return std::nullopt;
    return ledgerbridge::DimensionValue{.dimension = std::string(dimension), .code = std::string(code)};
  }
  bool period_open(std::string_view date) override { return date.substr(0, 7) > "2025-03"; }
  std::optional<std::string> next_open_date(std::string_view date) override {
    return period_open(date) ? std::string(date.substr(0, 10)) : "2025-04-01";
  }

  std::atomic<int> lookups{0};

 private:
  static std::optional<ledgerbridge::Vendor> vendor(std::string_view code) {
    if (code != "V1001") return std::nullopt;
    return ledgerbridge::Vendor{.code = "V1001", .name = "TestSupplier123", .externalId = "V1001",
                                .taxNumber = "12345", .payablesAccount = "2000"};
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " <rule pack folder> <items.jsonl>\n";
    return 2;
  }
  std::vector<std::string> items;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) items.push_back(line);

  try {
    const ledgerbridge::Engine engine({.now = 1768435200,  // 2026-01-15: reproducible output
                                       .log = [](ledgerbridge::LogLevel, std::string_view m) { std::cerr << m << '\n'; }});
    auto erp = std::make_shared<Erp>();
    const ledgerbridge::RulePack pack = engine.load_pack({.path = argv[1], .directory = erp});

    // Two threads share one pack: each gets its own sandboxed Lua state inside it.
    std::vector<ledgerbridge::Outcome> outcomes(items.size());
    std::vector<std::string> bad(items.size());
    auto work = [&](size_t first) {
      ledgerbridge::Outcome out;  // reused: its buffers grow once
      for (size_t i = first; i < items.size(); i += 2) {
        try {
          pack.evaluate(items[i], out);
          outcomes[i] = out;
        } catch (const ledgerbridge::Error& e) {
          bad[i] = e.what();  // bad input: e.code() == ErrorCode::bad_input
        }
      }
    };
    std::thread other(work, 1);
    work(0);
    other.join();

    int counts[3] = {0, 0, 0}, bad_input = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!bad[i].empty()) {
        std::cerr << "bad input: " << bad[i] << '\n';
        ++bad_input;
        continue;
      }
      ++counts[static_cast<int>(outcomes[i].status)];
      std::cout << outcomes[i].json << '\n';
    }
    std::cout << "pack '" << pack.name() << "' (ledgerbridge " << ledgerbridge::version() << "): decided " << counts[0]
              << ", skipped " << counts[1] << ", failed " << counts[2] << ", bad input " << bad_input << " ("
              << erp->lookups << " account look-ups)\n";
  } catch (const ledgerbridge::Error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
