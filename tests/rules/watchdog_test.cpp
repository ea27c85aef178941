// The CPU budget arms its hook only for calls that spend their budget computing.
#include <catch2/catch.hpp>

#include <chrono>
#include <lua.hpp>
#include <thread>

#include "rules/watchdog.hpp"

using namespace std::chrono_literals;

namespace {

void spin_cpu(std::chrono::milliseconds how_long) {
  const auto until = std::chrono::steady_clock::now() + how_long;
  volatile uint64_t x = 0;
  while (std::chrono::steady_clock::now() < until) x = x + 1;
}

bool armed(lua_State* L) { return lua_gethookmask(L) != 0; }

}  // namespace

TEST_CASE("a call that waits past its deadline is not stopped; one that computes is", "[rules][budget]") {
  lua_State* L = luaL_newstate();
  {
    lb::rules::BudgetSlot slot(L, [](lua_State*, lua_Debug*) {});
    slot.begin_call(30ms);
    std::this_thread::sleep_for(150ms);  // a loaded machine: the call waits for a core
    CHECK_FALSE(armed(L));
    spin_cpu(150ms);
    CHECK(armed(L));
    slot.end_call();
    CHECK_FALSE(armed(L));

    // A late arming never reaches the next call: the next call starts with the hook off.
    slot.begin_call(10s);
    spin_cpu(20ms);
    CHECK_FALSE(armed(L));
    slot.end_call();
  }
  lua_close(L);
}
