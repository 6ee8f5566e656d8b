/* zmqtrim: lets `mlq` link Debian's static libzmq.a without loading the
 * libraries of transports and mechanisms it never uses.
 *
 * libzmq.a references OpenPGM (pgm://, epgm://), NORM (norm://) and GSSAPI
 * (the GSSAPI mechanism). Linking the real libraries would load libpgm,
 * libnorm (C++), libgssapi_krb5 and the Kerberos libraries behind it at
 * every start, and zmq_ctx_new would run pgm_init (a protocol database
 * lookup through NSS, timer calibration) for nothing. mlq connects only
 * over tcp:// and ipc:// (client.c refuses other schemes) with CURVE or
 * NULL security, so this file defines those symbols itself: pgm_init and
 * pgm_shutdown succeed, as libzmq calls them whenever a context is made and
 * ended; every other function is unreachable and aborts with a message if
 * a future libzmq ever reaches it. Only the `mlq` executable links this
 * file, and only when it links libzmq statically (MLQ_STATIC_ZMQ). */
#include <stdio.h>
#include <stdlib.h>

/* Handles and name types the trimmed code would compare against; any value
 * will do, as no handle is ever made. Pointer sized, as the largest. */
const void *GSS_C_NT_HOSTBASED_SERVICE = NULL;
const void *GSS_C_NT_USER_NAME = NULL;
const void *NORM_INSTANCE_INVALID = NULL;
const void *NORM_NODE_ANY = NULL;
const void *NORM_OBJECT_INVALID = NULL;
const void *NORM_SESSION_INVALID = NULL;

/* libzmq's initialize_network (zmq_ctx_new) and shutdown_network
 * (zmq_ctx_term): OpenPGM's bool pgm_init(pgm_error_t **) and
 * bool pgm_shutdown(void). */
int pgm_init(void *error);
int pgm_init(void *error)
{
    (void)error;
    return 1;
}

int pgm_shutdown(void);
int pgm_shutdown(void)
{
    return 1;
}

static void trimmed(const char *name)
{
    fprintf(stderr, "mlq: %s is not built into this mlq (only tcp:// and ipc:// with CURVE)\n",
            name);
    abort();
}

#define MLQ_TRIMMED(name)                                                                          \
    void name(void);                                                                               \
    void name(void)                                                                                \
    {                                                                                              \
        trimmed(#name);                                                                            \
    }

MLQ_TRIMMED(NormCreateInstance)
MLQ_TRIMMED(NormCreateSession)
MLQ_TRIMMED(NormDestroyInstance)
MLQ_TRIMMED(NormDestroySession)
MLQ_TRIMMED(NormGetDescriptor)
MLQ_TRIMMED(NormGetNextEvent)
MLQ_TRIMMED(NormGetRandomSessionId)
MLQ_TRIMMED(NormIsUnicastAddress)
MLQ_TRIMMED(NormNodeDelete)
MLQ_TRIMMED(NormObjectGetType)
MLQ_TRIMMED(NormObjectGetUserData)
MLQ_TRIMMED(NormObjectSetUserData)
MLQ_TRIMMED(NormSetCongestionControl)
MLQ_TRIMMED(NormSetDefaultSyncPolicy)
MLQ_TRIMMED(NormSetDefaultUnicastNack)
MLQ_TRIMMED(NormSetLoopback)
MLQ_TRIMMED(NormSetMulticastInterface)
MLQ_TRIMMED(NormSetRxPortReuse)
MLQ_TRIMMED(NormSetTTL)
MLQ_TRIMMED(NormStartReceiver)
MLQ_TRIMMED(NormStartSender)
MLQ_TRIMMED(NormStopInstance)
MLQ_TRIMMED(NormStopReceiver)
MLQ_TRIMMED(NormStopSender)
MLQ_TRIMMED(NormStreamFlush)
MLQ_TRIMMED(NormStreamOpen)
MLQ_TRIMMED(NormStreamRead)
MLQ_TRIMMED(NormStreamSeekMsgStart)
MLQ_TRIMMED(NormStreamWrite)
MLQ_TRIMMED(gss_accept_sec_context)
MLQ_TRIMMED(gss_acquire_cred)
MLQ_TRIMMED(gss_delete_sec_context)
MLQ_TRIMMED(gss_display_name)
MLQ_TRIMMED(gss_import_name)
MLQ_TRIMMED(gss_init_sec_context)
MLQ_TRIMMED(gss_release_buffer)
MLQ_TRIMMED(gss_release_cred)
MLQ_TRIMMED(gss_release_name)
MLQ_TRIMMED(gss_unwrap)
MLQ_TRIMMED(gss_wrap)
MLQ_TRIMMED(pgm_bind3)
MLQ_TRIMMED(pgm_close)
MLQ_TRIMMED(pgm_connect)
MLQ_TRIMMED(pgm_error_free)
MLQ_TRIMMED(pgm_free)
MLQ_TRIMMED(pgm_freeaddrinfo)
MLQ_TRIMMED(pgm_getaddrinfo)
MLQ_TRIMMED(pgm_getsockopt)
MLQ_TRIMMED(pgm_gsi_create_from_data)
MLQ_TRIMMED(pgm_recvmsgv)
MLQ_TRIMMED(pgm_send)
MLQ_TRIMMED(pgm_setsockopt)
MLQ_TRIMMED(pgm_socket)
