/*
 * test_cuda_decls.c - gpu/cuda_drv.h against the CUDA toolkit's cuda.h.
 *
 * libkvfs-gpu declares the driver entry points it dlsym()s itself, so that
 * it builds without CUDA; a wrong prototype, exported symbol name or
 * constant there would show only as a failed or corrupt transfer on a GPU.
 * Here every entry is compiled against the real cuda.h: the prototypes and
 * constants are checked at compile time, the symbol names (cuda.h maps
 * cuMemcpyDtoHAsync to cuMemcpyDtoHAsync_v2, and so on) at run time.
 * Built with -DHAVE_CUDA_H where the Makefile finds $(CUDA_INC)/cuda.h;
 * elsewhere it skips (77).
 */
#include <stdio.h>

#ifndef HAVE_CUDA_H
int main(void)
{
	printf("SKIP: no cuda.h to check gpu/cuda_drv.h against (set CUDA_INC)\n");
	return 77;
}
#else

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <cuda.h>

#include "cuda_drv.h"

#define STR(x) #x
#define XSTR(x) STR(x)

/* The function pointer of each entry has the type of cuda.h's function. */
#define SAME_TYPE(api, name, sym, params)                                          \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((struct api *)0)->name), \
						    __typeof__(&name)),               \
		       #name ": cuda_drv.h's prototype differs from cuda.h's");
#define LIBRARY_TYPE(name, sym, params) SAME_TYPE(kcu_api, name, sym, params)
#define TEST_TYPE(name, sym, params) SAME_TYPE(kcu_test_api, name, sym, params)
KCU_LIBRARY_ENTRIES(LIBRARY_TYPE)
KCU_TEST_ENTRIES(TEST_TYPE)

#define SAME_VALUE(kcu, cuda) _Static_assert((kcu) == (cuda), #kcu " differs from " #cuda);
SAME_VALUE(KCU_SUCCESS, CUDA_SUCCESS)
SAME_VALUE(KCU_ERROR_INVALID_VALUE, CUDA_ERROR_INVALID_VALUE)
SAME_VALUE(KCU_ERROR_OUT_OF_MEMORY, CUDA_ERROR_OUT_OF_MEMORY)
SAME_VALUE(KCU_ERROR_NOT_INITIALIZED, CUDA_ERROR_NOT_INITIALIZED)
SAME_VALUE(KCU_ERROR_DEINITIALIZED, CUDA_ERROR_DEINITIALIZED)
SAME_VALUE(KCU_ERROR_STUB_LIBRARY, CUDA_ERROR_STUB_LIBRARY)
SAME_VALUE(KCU_ERROR_DEVICE_UNAVAILABLE, CUDA_ERROR_DEVICE_UNAVAILABLE)
SAME_VALUE(KCU_ERROR_NO_DEVICE, CUDA_ERROR_NO_DEVICE)
SAME_VALUE(KCU_ERROR_INVALID_DEVICE, CUDA_ERROR_INVALID_DEVICE)
SAME_VALUE(KCU_ERROR_INVALID_CONTEXT, CUDA_ERROR_INVALID_CONTEXT)
SAME_VALUE(KCU_ERROR_INVALID_HANDLE, CUDA_ERROR_INVALID_HANDLE)
SAME_VALUE(KCU_ERROR_NOT_FOUND, CUDA_ERROR_NOT_FOUND)
SAME_VALUE(KCU_ERROR_NOT_READY, CUDA_ERROR_NOT_READY)
SAME_VALUE(KCU_ERROR_ILLEGAL_ADDRESS, CUDA_ERROR_ILLEGAL_ADDRESS)
SAME_VALUE(KCU_ERROR_HOST_MEMORY_ALREADY_REGISTERED, CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED)
SAME_VALUE(KCU_ERROR_HOST_MEMORY_NOT_REGISTERED, CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED)
SAME_VALUE(KCU_ERROR_NOT_PERMITTED, CUDA_ERROR_NOT_PERMITTED)
SAME_VALUE(KCU_ERROR_NOT_SUPPORTED, CUDA_ERROR_NOT_SUPPORTED)
SAME_VALUE(KCU_POINTER_ATTRIBUTE_CONTEXT, CU_POINTER_ATTRIBUTE_CONTEXT)
SAME_VALUE(KCU_POINTER_ATTRIBUTE_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_MEMORY_TYPE)
SAME_VALUE(KCU_MEMORYTYPE_HOST, CU_MEMORYTYPE_HOST)
SAME_VALUE(KCU_MEMORYTYPE_DEVICE, CU_MEMORYTYPE_DEVICE)
SAME_VALUE(KCU_MEMORYTYPE_UNIFIED, CU_MEMORYTYPE_UNIFIED)
SAME_VALUE(KCU_MEMHOSTREGISTER_PORTABLE, CU_MEMHOSTREGISTER_PORTABLE)
SAME_VALUE(KCU_MEMHOSTALLOC_PORTABLE, CU_MEMHOSTALLOC_PORTABLE)
SAME_VALUE(KCU_STREAM_NON_BLOCKING, CU_STREAM_NON_BLOCKING)
SAME_VALUE(sizeof(kcu_result), sizeof(CUresult))
SAME_VALUE(sizeof(kcu_deviceptr), sizeof(CUdeviceptr))
SAME_VALUE(sizeof(kcu_device), sizeof(CUdevice))

struct entry {
	const char *name, *ours, *cuda_h;
};

/* name as written, the symbol cuda_drv.h dlsym()s, the one cuda.h maps the
 * name to (macro-expanded by XSTR). */
#define ENTRY(name, sym, params) { #name, sym, XSTR(name) },

static void symbols_are_cuda_h_ones(void **state)
{
	static const struct entry e[] = {
		KCU_LIBRARY_ENTRIES(ENTRY)
		KCU_TEST_ENTRIES(ENTRY)
	};

	(void)state;
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		if (strcmp(e[i].ours, e[i].cuda_h) != 0)
			fail_msg("%s: cuda_drv.h loads %s, cuda.h (CUDA %d) exports %s",
				 e[i].name, e[i].ours, CUDA_VERSION, e[i].cuda_h);
	}
	assert_int_equal(sizeof(e) / sizeof(e[0]), 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(symbols_are_cuda_h_ones),
	};

	printf("checking against cuda.h of CUDA %d\n", CUDA_VERSION);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
