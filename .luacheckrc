-- luacheck configuration for rule packs and the shipped lb.* library.
--
-- Rule code runs in the sandbox that engine/lua/prelude.lua builds, not in plain LuaJIT: the
-- standard "luajit" globals would let a script call io.open or load and only fail at run time,
-- inside an export job. The std below lists exactly the prelude's allow-list (its table G), so
-- such a call is a lint error on the consultant's machine and in CI instead.

stds.ledgerbridge = {
  read_globals = {
    "_VERSION", "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
    "tonumber", "tostring", "type", "unpack", "rawequal", "rawget", "rawlen", "rawset",
    "setmetatable", "getmetatable", "print",
    -- Each pack's environment sets these two itself (prelude.lua new_env / make_require).
    "_G", "require",
    string = {
      fields = {
        "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
        "reverse", "sub", "upper",
      },
    },
    table = { fields = { "concat", "maxn", "unpack", "insert", "remove", "sort" } },
    math = {
      fields = {
        "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp", "floor",
        "fmod", "frexp", "huge", "ldexp", "log", "log10", "max", "min", "modf", "pi", "pow",
        "rad", "sin", "sinh", "sqrt", "tan", "tanh",
      },
    },
    -- The frozen clock only: os.date always answers in UTC.
    os = { fields = { "time", "date" } },
    coroutine = { fields = { "create", "resume", "running", "status", "yield", "isyieldable", "wrap" } },
    bit = {
      fields = {
        "tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift", "rol",
        "ror", "bswap",
      },
    },
  },
}

std = "ledgerbridge"

-- `luacheck .` from the repository root lints what runs in the sandbox and the host-only chunks
-- beside it (engine/lua/*.lua, with their own std below); not the editor annotations, which
-- declare types rather than run, nor build trees. A pack anywhere else is linted whole:
-- `luacheck --config <this file> <pack folder>` (an include list here would leave it out).
exclude_files = {
  "engine/lua/types/**",
  "build*/**",
  ".git/**",
}

-- A global set by a hook would outlive the item and leak into the next one; a pack keeps its
-- state in locals.
allow_defined = false
allow_defined_top = false

-- Hooks have fixed signatures (item, ctx) and (line, item, ctx): a hook that does not need
-- every argument is normal, not a mistake.
ignore = { "212/item", "212/line", "212/ctx" }

max_line_length = 120

-- The host-only chunks (the prelude, which builds the sandbox, and views.lua and ctx.lua, which
-- hold the FFI) run with the full standard library, never inside the sandbox.
files["engine/lua/prelude.lua"] = { std = "luajit" }
files["engine/lua/views.lua"] = { std = "luajit" }
files["engine/lua/ctx.lua"] = { std = "luajit" }
