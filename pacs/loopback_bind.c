/*
 * Keep chosen listeners of a child process on loopback (LD_PRELOAD).
 *
 * Orthanc 1.10 binds its HTTP server (civetweb) and its DICOM server (DCMTK) on every
 * interface: it has no bind-address setting ("HttpBindAddresses" came in 2025, for HTTP
 * only). This library, preloaded into the Orthanc child only, rewrites a bind() to the
 * wildcard address (0.0.0.0 or ::) on one of the ports listed in NADIR_LOOPBACK_PORTS
 * (comma-separated) into a bind() to 127.0.0.1 (or ::1). Other binds are passed on
 * unchanged: ephemeral ports (0) of outgoing connections, other ports, specific addresses.
 *
 * Built by pacs/bindshim.py with the system C compiler.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_PORTS 16

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static bind_fn real_bind;
static unsigned short loopback_ports[MAX_PORTS];
static int loopback_port_count;

__attribute__((constructor)) static void nadir_loopback_init(void) {
    real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    const char *list = getenv("NADIR_LOOPBACK_PORTS");
    while (list != NULL && *list != '\0' && loopback_port_count < MAX_PORTS) {
        char *end = NULL;
        long port = strtol(list, &end, 10);
        if (end == list) {
            break;
        }
        if (port > 0 && port < 65536) {
            loopback_ports[loopback_port_count++] = (unsigned short)port;
        }
        list = (*end == ',') ? end + 1 : end;
    }
}

static int listed(in_port_t port_be) {
    unsigned short port = ntohs(port_be);
    for (int i = 0; i < loopback_port_count; i++) {
        if (loopback_ports[i] == port) {
            return 1;
        }
    }
    return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    if (real_bind == NULL) {
        real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
        if (real_bind == NULL) {
            errno = ENOSYS;
            return -1;
        }
    }
    if (addr != NULL && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in4;
        memcpy(&in4, addr, sizeof in4);
        if (in4.sin_addr.s_addr == htonl(INADDR_ANY) && listed(in4.sin_port)) {
            in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&in4, sizeof in4);
        }
    } else if (addr != NULL && addr->sa_family == AF_INET6
               && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, addr, sizeof in6);
        if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr) && listed(in6.sin6_port)) {
            in6.sin6_addr = in6addr_loopback;
            return real_bind(fd, (const struct sockaddr *)&in6, sizeof in6);
        }
    }
    return real_bind(fd, addr, len);
}
