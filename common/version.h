/* version.h — the one version of every trivsel program. */
#ifndef TR_VERSION_H
#define TR_VERSION_H
#define TR_VERSION "0.1.0"
#endif
