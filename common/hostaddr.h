/* hostaddr: the address other hosts reach a worker at (mlq-worker
 * --advertise-addr, the `addr` key of `register`, MLQ_WORKER_ADDR): checking
 * one that an admin gave or a worker sent, and finding the default one. */
#ifndef MLQ_HOSTADDR_H
#define MLQ_HOSTADDR_H

#include <stddef.h>

#include "bounds.h"
#include "err.h"

/* 0 when host is an IPv4 address, an IPv6 address (without brackets or a
 * zone) or a DNS name (dot-separated labels of 1..63 letters, digits and
 * '-', none starting or ending with '-', the last one not all digits unless
 * the whole is an IPv4 address), at most MLQ_MAX_HOST bytes; otherwise
 * MLQ_EINVAL saying why. */
int mlq_hostaddr_check(const char *host, struct mlq_err *err);

/* The numeric local address of this machine's route to the host of a
 * tcp://HOST:PORT endpoint, into buf: the source address the kernel picks
 * for a UDP socket connected there (connecting a UDP socket sends nothing;
 * ZeroMQ does not expose the local address of its own connections). A name
 * is resolved first. MLQ_EINVAL for an endpoint that is not tcp:// with a
 * host, MLQ_EUNREACH when no address of the host has a route. */
int mlq_hostaddr_route(const char *endpoint, char *buf, size_t len, struct mlq_err *err);

#endif
