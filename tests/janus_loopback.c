/* Lets Janus gather ICE candidates on the loopback interface, for tests on loopback only.
 *
 * Janus (src/ice.c, janus_ice_setup_local) skips every interface flagged IFF_LOOPBACK
 * whatever its ice_enforce_list says, and libnice's own fallback skips them too, so on a
 * machine where tests may use 127.0.0.1 alone Janus offers no candidate and ICE fails.
 * Preloaded into Janus only (LD_PRELOAD, by tests/janus.py), this getifaddrs() clears that
 * flag; janus.jcfg's ice_enforce_list = "lo" then keeps Janus to 127.0.0.1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
    int (*real)(struct ifaddrs **) = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int result = real(ifap);
    if (result == 0) {
        for (struct ifaddrs *ifa = *ifap; ifa != NULL; ifa = ifa->ifa_next) {
            ifa->ifa_flags &= ~IFF_LOOPBACK;
        }
    }
    return result;
}
