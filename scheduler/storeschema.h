/* storeschema: the migration steps of the scheduler's database schema. */
#ifndef MLQ_STORESCHEMA_H
#define MLQ_STORESCHEMA_H

/* The SQL that upgrades a database from user_version ver to ver + 1, or NULL
 * when ver is not below MLQ_STORE_SCHEMA_VERSION. */
const char *mlq_storeschema_step(int ver);

#endif
