/* speccheck: the checks of a job spec's values, private to the proto*
 * modules.
 *
 * The same checks serve the CLI (before a spec leaves), the scheduler (on
 * submit) and the decoder (protospec.c: a spec that fails them is a
 * protocol error), so a value is judged the same way wherever it is seen.
 * The entry points are public, in jobspec.h (mlq_proto_jobspec_check,
 * mlq_proto_*_check); this header holds what the decoder shares with them. */
#ifndef MLQ_SPECCHECK_H
#define MLQ_SPECCHECK_H

#define MLQ_SPEC_MAX_SIGNAL 64 /* highest Linux real-time signal */

#endif
