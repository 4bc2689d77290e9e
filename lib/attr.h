/*
 * attr.h: the compiler attributes the headers use, spelled once.
 */
#ifndef FPL_ATTR_H
#define FPL_ATTR_H

/* The caller must look at the result: ignoring it loses a failure. */
#define MUSTCHECK	__attribute__((warn_unused_result))

#endif
