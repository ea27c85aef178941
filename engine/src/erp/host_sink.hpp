#pragma once
// The host sink: the ERP is the embedding application (DESIGN §1, "host callback"). Each Sink
// call is forwarded to a std::function the host supplies; the C ABI (bindings/c) wraps C
// function pointers into these, and C++ hosts may fill them directly.
//
// Exceptions thrown by a callback are caught here and become SinkErrors, because the engine
// must not unwind through its workflow: a throwing post becomes ErrorKind::timeout (the host
// may or may not have written the document, so the workflow treats the entry as uncertain and
// looks it up), anything else becomes ErrorKind::unreachable.
//
// Missing callbacks: post/lookup/upload answer "unreachable: no callback"; check succeeds;
// directory look-ups answer "unknown" (nullopt), period_open answers true (an ERP without
// periods) and next_open_date the date itself when it is valid.
#include <functional>
#include <string>

#include "erp/sink.hpp"

namespace lb::erp {

struct HostDirectoryCallbacks {
  std::function<std::optional<model::ErpAccount>(std::string_view code)> account{};
  std::function<std::optional<model::ErpVendor>(std::string_view code)> vendor_by_code{};
  std::function<std::optional<model::ErpVendor>(std::string_view id)> vendor_by_external_id{};
  std::function<std::optional<model::ErpVendor>(std::string_view tax_number)> vendor_by_tax_number{};
  std::function<std::optional<model::ErpTaxCode>(std::string_view code)> tax_code{};
  std::function<std::optional<model::ErpDimensionValue>(std::string_view dimension, std::string_view code)>
      dimension_value{};
  std::function<bool(std::string_view date)> period_open{};
  std::function<std::optional<std::string>(std::string_view date)> next_open_date{};
};

struct HostCallbacks {
  std::string name = "host";
  Capabilities capabilities{};
  std::function<SinkResult<Posted>(const posting::Document&)> post{};
  std::function<SinkResult<std::optional<Posted>>(std::string_view external_key)> lookup{};
  std::function<SinkResult<std::monostate>(const Posted&, const posting::Attachment&, std::string_view bytes)>
      upload_attachment{};
  std::function<SinkResult<std::monostate>()> check{};
  HostDirectoryCallbacks directory{};
};

// A model::Directory over callbacks (also usable without a sink, e.g. for `process`).
class HostDirectory final : public model::Directory {
 public:
  explicit HostDirectory(HostDirectoryCallbacks callbacks) : cb_(std::move(callbacks)) {}
  std::optional<model::ErpAccount> account(std::string_view code) const override;
  std::optional<model::ErpVendor> vendor_by_code(std::string_view code) const override;
  std::optional<model::ErpVendor> vendor_by_external_id(std::string_view id) const override;
  std::optional<model::ErpVendor> vendor_by_tax_number(std::string_view tax_number) const override;
  std::optional<model::ErpTaxCode> tax_code(std::string_view code) const override;
  std::optional<model::ErpDimensionValue> dimension_value(std::string_view dimension,
                                                          std::string_view code) const override;
  bool period_open(std::string_view date) const override;
  std::optional<std::string> next_open_date(std::string_view date) const override;

 private:
  HostDirectoryCallbacks cb_;
};

class HostSink final : public Sink {
 public:
  explicit HostSink(HostCallbacks callbacks);

  std::string_view name() const override { return name_; }
  Capabilities capabilities() const override { return capabilities_; }
  SinkResult<Posted> post(const posting::Document& document) override;
  SinkResult<std::optional<Posted>> lookup(std::string_view external_key) override;
  SinkResult<std::monostate> upload_attachment(const Posted& document, const posting::Attachment& attachment,
                                               std::string_view bytes) override;
  const model::Directory& directory() const override { return directory_; }
  SinkResult<std::monostate> check() override;

 private:
  std::string name_;
  Capabilities capabilities_;
  std::function<SinkResult<Posted>(const posting::Document&)> post_;
  std::function<SinkResult<std::optional<Posted>>(std::string_view)> lookup_;
  std::function<SinkResult<std::monostate>(const Posted&, const posting::Attachment&, std::string_view)> upload_;
  std::function<SinkResult<std::monostate>()> check_;
  HostDirectory directory_;
};

}  // namespace lb::erp
