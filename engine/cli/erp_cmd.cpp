// ledgerbridge erp: the built-in SQLite ERP for people — create and seed one, and read what was
// posted to it (trial balance, one document, the list). Amounts are integer minor units inside
// and shown with the currency's decimals (model/currency.hpp); --json prints minor units.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "erp/directory_content.hpp"
#include "erp/sqlite_erp.hpp"
#include "model/currency.hpp"

namespace lb::cli {
namespace {

// ordered_json keeps keys in the order written: the canonical document order for `show --json`.
using json = nlohmann::ordered_json;

// 123456 DKK -> "1,234.56"; exact integer arithmetic, never a double (DESIGN §6).
std::string money(int64_t minor, const std::string& currency) {
  const int digits = model::currency_minor_units(currency).value_or(2);
  const bool negative = minor < 0;
  // Unsigned: the magnitude of INT64_MIN does not fit an int64_t.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string whole = std::to_string(magnitude / scale);
  for (int i = static_cast<int>(whole.size()) - 3; i > 0; i -= 3) whole.insert(static_cast<size_t>(i), ",");
  std::string out = (negative ? "-" : "") + whole;
  if (digits > 0) out += fmt::format(".{:0{}}", magnitude % scale, digits);
  return out;
}

std::unique_ptr<erp::SqliteErp> open_or_report(const std::string& file, bool create = false) {
  auto erp = erp::SqliteErp::open(file, {.create = create});
  if (!erp) {
    fmt::print(stderr, "error: {}\n", erp.error().message);
    return nullptr;
  }
  return std::move(erp).value();
}

// --- init --------------------------------------------------------------------------------------

int run_init(const std::string& file, const std::string& seed) {
  erp::DirectoryContent content;
  if (!seed.empty()) {
    auto read = erp::read_directory_content(seed);
    if (!read) {
      fmt::print(stderr, "error: {}\n", read.error().message);
      return kExitUsage;
    }
    content = std::move(read).value();
  }
  auto erp = open_or_report(file, true);
  if (!erp) return kExitUsage;
  if (auto st = erp->seed(content); !st) {
    fmt::print(stderr, "error: {}\n", st.message());
    return kExitUsage;
  }
  fmt::print("{}: {} accounts, {} vendors, {} tax codes, {} dimension values, {} periods{}\n", file,
             content.accounts.size(), content.vendors.size(), content.tax_codes.size(),
             content.dimension_values.size(), content.periods.size(), seed.empty() ? "" : " from " + seed);
  return kExitOk;
}

// --- post ----------------------------------------------------------------------------------------
// Replays canonical documents (JSON lines, as the jsonl sink writes them) into the ERP: moves a
// dry run's output into the SQLite ERP, and gives the CLI tests documents to report on.

int run_post(const std::string& file, const std::string& input) {
  auto erp = open_or_report(file);
  if (!erp) return kExitUsage;
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (input != "-") {
    in_file.open(input, std::ios::binary);
    if (!in_file) {
      fmt::print(stderr, "error: {}: cannot read\n", input);
      return kExitUsage;
    }
    in = &in_file;
  }
  const std::string source = input == "-" ? "stdin" : input;
  int posted = 0, refused = 0, line_no = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto doc = posting::parse_document_json(line);
    if (!doc) {
      fmt::print(stderr, "error: {}:{}: {}\n", source, line_no, doc.error().message);
      return kExitUsage;
    }
    auto r = erp->post(*doc);
    if (const auto* e = std::get_if<erp::SinkError>(&r)) {
      ++refused;
      fmt::print("{}:{}: {} refused ({}): {}\n", source, line_no, doc->externalKey, erp::to_string(e->kind), e->message);
    } else {
      ++posted;
      fmt::print("{}:{}: {} posted as {}\n", source, line_no, doc->externalKey, std::get<erp::Posted>(r).externalId);
    }
  }
  fmt::print("{} posted, {} refused\n", posted, refused);
  return refused ? kExitFailures : kExitOk;
}

// --- trial-balance -------------------------------------------------------------------------------

int run_trial_balance(const std::string& file, bool as_json) {
  auto erp = open_or_report(file);
  if (!erp) return kExitUsage;
  auto tb = erp->trial_balance();
  if (!tb) {
    fmt::print(stderr, "error: {}\n", tb.error().message);
    return kExitUsage;
  }
  if (as_json) {
    json j = {{"file", file}, {"documents", tb->documents}, {"drafts", tb->drafts}, {"balanced", tb->balanced()}};
    j["accounts"] = json::array();
    for (const auto& r : tb->rows)
      j["accounts"].push_back({{"account", r.account}, {"name", r.name}, {"currency", r.currency},
                               {"debit", r.debit}, {"credit", r.credit}, {"balance", r.balance()}});
    j["totals"] = json::array();
    for (const auto& t : tb->totals)
      j["totals"].push_back({{"currency", t.currency}, {"debit", t.debit}, {"credit", t.credit}, {"balance", t.balance()}});
    fmt::print("{}\n", j.dump());
    return tb->balanced() ? kExitOk : kExitFailures;
  }

  size_t account_w = 7, name_w = 4, amount_w = 6;
  auto widen = [&](const erp::TrialBalanceRow& r) {
    account_w = std::max(account_w, r.account.size());
    name_w = std::max(name_w, r.name.size());
    for (int64_t v : {r.debit, r.credit, r.balance()}) amount_w = std::max(amount_w, money(v, r.currency).size());
  };
  for (const auto& r : tb->rows) widen(r);
  for (const auto& t : tb->totals) widen(t);
  auto line = [&](const std::string& account, const std::string& name, const std::string& currency,
                  const std::string& debit, const std::string& credit, const std::string& balance) {
    fmt::print("{:<{}}  {:<{}}  {:<8}  {:>{}}  {:>{}}  {:>{}}\n", account, account_w, name, name_w, currency, debit,
               amount_w, credit, amount_w, balance, amount_w);
  };
  fmt::print("Trial balance of {} ({} documents, {} drafts)\n\n", file, tb->documents, tb->drafts);
  line("Account", "Name", "Currency", "Debit", "Credit", "Balance");
  for (const auto& r : tb->rows)
    line(r.account, r.name, r.currency, money(r.debit, r.currency), money(r.credit, r.currency),
         money(r.balance(), r.currency));
  if (!tb->totals.empty()) fmt::print("\n");
  for (const auto& t : tb->totals)
    line("Total", "", t.currency, money(t.debit, t.currency), money(t.credit, t.currency),
         money(t.balance(), t.currency));
  if (tb->balanced()) {
    fmt::print("\nBalanced: debits = credits in every currency.\n");
    return kExitOk;
  }
  fmt::print("\nNOT BALANCED: debits != credits");
  for (const auto& t : tb->totals)
    if (t.debit != t.credit) fmt::print(" ({} off by {})", t.currency, money(t.balance(), t.currency));
  fmt::print("\n");
  return kExitFailures;
}

// --- show ----------------------------------------------------------------------------------------

int run_show(const std::string& file, const std::string& key, bool as_json) {
  auto erp = open_or_report(file);
  if (!erp) return kExitUsage;
  auto found = erp->find(key);
  if (!found) {
    fmt::print(stderr, "error: {}\n", found.error().message);
    return kExitUsage;
  }
  if (!found->has_value()) {
    fmt::print(stderr, "error: {}: no document with external key or id {}\n", file, key);
    return kExitFailures;
  }
  const erp::StoredDocument& s = **found;
  const posting::Document& d = s.document;
  if (as_json) {
    json j = json::parse(posting::document_json(d));
    j["externalId"] = s.externalId;
    j["createdAt"] = s.createdAt;
    j.erase("attachments");
    j["files"] = json::array();
    for (const auto& f : s.files)
      j["files"].push_back({{"key", f.key}, {"type", f.type}, {"size", f.size}, {"hash", f.hash}});
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("{}  {}  {}\n", s.externalId, posting::to_string(d.kind), d.draft ? "draft" : "final");
  fmt::print("  external key   {}\n", d.externalKey);
  fmt::print("  reference      {}\n", d.reference);
  fmt::print("  dates          document {}, posting {}{}\n", d.documentDate, d.postingDate,
             d.dueDate ? ", due " + *d.dueDate : "");
  if (d.vendor) fmt::print("  vendor         {}{}\n", *d.vendor, d.invoiceNumber ? ", invoice " + *d.invoiceNumber : "");
  fmt::print("  description    {}\n", d.description);
  fmt::print("  created        {}\n\n", s.createdAt);
  size_t account_w = 7, amount_w = 6, role_w = 4;
  for (const auto& l : d.lines) {
    account_w = std::max(account_w, l.account.size());
    role_w = std::max(role_w, std::string(posting::to_string(l.role)).size());
    amount_w = std::max({amount_w, money(l.debit, l.currency).size(), money(l.credit, l.currency).size()});
  }
  fmt::print("  {:>3}  {:<{}}  {:<{}}  {:>{}}  {:>{}}  {:<8}  {:<6}  {}\n", "#", "Role", role_w, "Account", account_w,
             "Debit", amount_w, "Credit", amount_w, "Currency", "Tax", "Dimensions / text");
  for (size_t i = 0; i < d.lines.size(); ++i) {
    const auto& l = d.lines[i];
    std::string extra;
    for (const auto& [dim, value] : l.dimensions) extra += dim + "=" + value + " ";
    extra += l.text;
    fmt::print("  {:>3}  {:<{}}  {:<{}}  {:>{}}  {:>{}}  {:<8}  {:<6}  {}\n", i + 1, posting::to_string(l.role), role_w,
               l.account, account_w, l.debit ? money(l.debit, l.currency) : "", amount_w,
               l.credit ? money(l.credit, l.currency) : "", amount_w, l.currency, l.taxCode.value_or(""), extra);
  }
  if (!s.files.empty()) {
    fmt::print("\n  attachments\n");
    for (const auto& f : s.files) fmt::print("    {}  {}  {} bytes  {}\n", f.key, f.type, f.size, f.hash);
  }
  return kExitOk;
}

// --- list ----------------------------------------------------------------------------------------

int run_list(const std::string& file, bool as_json) {
  auto erp = open_or_report(file);
  if (!erp) return kExitUsage;
  auto all = erp->list();
  if (!all) {
    fmt::print(stderr, "error: {}\n", all.error().message);
    return kExitUsage;
  }
  if (as_json) {
    json j = json::array();
    for (const auto& d : *all)
      j.push_back({{"externalId", d.externalId}, {"externalKey", d.externalKey}, {"kind", d.kind},
                   {"postingDate", d.postingDate}, {"currency", d.currency}, {"total", d.total},
                   {"draft", d.draft}, {"description", d.description}});
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  size_t id_w = 11, key_w = 12, amount_w = 5;
  for (const auto& d : *all) {
    id_w = std::max(id_w, d.externalId.size());
    key_w = std::max(key_w, d.externalKey.size());
    amount_w = std::max(amount_w, money(d.total, d.currency).size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<13}  {:<10}  {:>{}}  {:<3}  {:<5}  {}\n", "External id", id_w, "External key", key_w,
             "Kind", "Posting", "Total", amount_w, "Cur", "State", "Description");
  for (const auto& d : *all)
    fmt::print("{:<{}}  {:<{}}  {:<13}  {:<10}  {:>{}}  {:<3}  {:<5}  {}\n", d.externalId, id_w, d.externalKey, key_w,
               d.kind, d.postingDate, money(d.total, d.currency), amount_w, d.currency, d.draft ? "draft" : "final",
               d.description);
  fmt::print("{} document{}\n", all->size(), all->size() == 1 ? "" : "s");
  return kExitOk;
}

struct ErpArgs {
  std::string file;
  std::string seed;
  std::string key;
  bool json = false;
};

}  // namespace

void add_erp_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ErpArgs>();
  auto* erp = app.add_subcommand("erp", "The built-in SQLite ERP: create, seed and inspect one");
  erp->require_subcommand(1);

  auto* init = erp->add_subcommand("init", "Create an SQLite ERP file (or add to one) and seed its master data");
  init->add_option("file", args->file, "The ERP file (created when missing)")->required();
  init->add_option("--seed", args->seed,
                   "Master data: a directory YAML/JSON file or a folder of CSV files (accounts.csv, vendors.csv, "
                   "tax_codes.csv, dimensions.csv, periods.csv)");
  init->callback([args, &exit_code] { exit_code = run_init(args->file, args->seed); });

  auto* post = erp->add_subcommand("post", "Post canonical documents (JSON lines, '-' for stdin) to the ERP");
  post->add_option("file", args->file, "The ERP file")->required()->check(CLI::ExistingFile);
  post->add_option("documents", args->key, "JSON lines of posting documents, as the jsonl sink writes them")
      ->required();
  post->callback([args, &exit_code] { exit_code = run_post(args->file, args->key); });

  auto* tb = erp->add_subcommand("trial-balance", "Debits, credits and balance per account and currency");
  tb->add_option("file", args->file, "The ERP file")->required()->check(CLI::ExistingFile);
  tb->add_flag("--json", args->json, "One JSON object (amounts in minor units)");
  tb->callback([args, &exit_code] { exit_code = run_trial_balance(args->file, args->json); });

  auto* show = erp->add_subcommand("show", "One document with its lines and attachments");
  show->add_option("file", args->file, "The ERP file")->required()->check(CLI::ExistingFile);
  show->add_option("key", args->key, "The document's external key (accountingEntryId) or external id (GL-000001)")
      ->required();
  show->add_flag("--json", args->json, "The canonical document JSON plus externalId and files");
  show->callback([args, &exit_code] { exit_code = run_show(args->file, args->key, args->json); });

  auto* list = erp->add_subcommand("list", "Every document, in posting order");
  list->add_option("file", args->file, "The ERP file")->required()->check(CLI::ExistingFile);
  list->add_flag("--json", args->json, "A JSON array (amounts in minor units)");
  list->callback([args, &exit_code] { exit_code = run_list(args->file, args->json); });
}

}  // namespace lb::cli
