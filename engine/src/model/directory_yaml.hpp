#pragma once
// Loading directory entries from a YAML node that is already parsed, for files that embed a
// directory (a rule-pack fixture's `directory:` mapping) and want the same checks and messages
// as a directory file. Separate from directory.hpp so that header stays free of yaml-cpp types.
#include <string>
#include <string_view>

#include "model/directory.hpp"
#include "model/result.hpp"

namespace YAML {
class Node;
}

namespace lb::model {

// `node` is a mapping with the sections of a directory file (a null node adds nothing).
// `source_name` and the node's marks give error positions; `path_prefix`, when set, starts
// every error path, e.g. "directory" gives "case.yaml:9: directory.vendors[0].code: ...".
// Same semantics as load_directory: on error `into` is left as it was.
Status load_directory_node(const YAML::Node& node, const std::string& source_name,
                           MemoryDirectory& into, std::string_view path_prefix = {});

}  // namespace lb::model
