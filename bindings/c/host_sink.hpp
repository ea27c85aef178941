#pragma once
// The host ERP of the C ABI as the engine's erp::Sink: what the workflow (engine/src/workflow,
// in progress) will post to. Documents go to the host as canonical JSON (posting/document.hpp),
// answers come back as JSON or as an error kind + message.
#include <memory>

#include "erp/sink.hpp"
#include "ledgerbridge.h"

namespace lb::capi {

// The sink keeps the ERP alive; `erp` may be freed afterwards.
std::unique_ptr<erp::Sink> make_sink(const ledgerbridge_erp& erp);

}  // namespace lb::capi
