/* Measured compute peak of this CPU: fp32 FMA and int8 (u8 x s8) multiply-add throughput, one thread
 * and all threads, in the instruction sets ONNX Runtime's MLAS uses here (AVX2 + FMA; AVX-512 VNNI
 * when the CPU reports it).
 *
 *   gcc -O2 -pthread bench/peak.c -o /tmp/peak && /tmp/peak [threads] [seconds]
 *
 * Each thread runs independent accumulator chains (enough to cover the FMA latency) over registers
 * only, so the figure is the arithmetic peak, not a memory bound. FLOP = 2 per multiply-add; int8
 * "OP" likewise 2 per u8*s8 multiply-add. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double seconds = 1.0;
static volatile float sink_f;
static volatile int sink_i;

/* 12 chains of 8 floats: 96 multiply-adds per step of each chain set. */
__attribute__((target("avx2,fma"))) static void *fma_loop(void *arg) {
  long *iters = arg;
  __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int k = 0; k < 12; k++) a[k] = _mm256_set1_ps((float)k);
  long n = 0;
  double t0 = now();
  do {
    for (int r = 0; r < 1000; r++)
#pragma GCC unroll 16
      for (int k = 0; k < 12; k++) a[k] = _mm256_fmadd_ps(a[k], m, c);
    n += 1000;
  } while (now() - t0 < seconds);
  __m256 s = a[0];
  for (int k = 1; k < 12; k++) s = _mm256_add_ps(s, a[k]);
  sink_f = _mm256_cvtss_f32(s);
  *iters = n;
  return NULL;
}

/* AVX2 u8*s8: vpmaddubsw (32 products, pairs summed to s16) + vpmaddwd by ones + vpaddd, the
 * sequence MLAS's AVX2 int8 kernels use: 32 multiply-adds per 3 instructions. 8 chains; each chain's
 * next input depends on its last product, so nothing can be hoisted out of the loop. */
__attribute__((target("avx2"))) static void *int8_avx2_loop(void *arg) {
  long *iters = arg;
  __m256i acc[8], x[8], b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int k = 0; k < 8; k++) {
    acc[k] = _mm256_setzero_si256();
    x[k] = _mm256_set1_epi8((char)(3 + k));
  }
  long n = 0;
  double t0 = now();
  do {
    for (int r = 0; r < 1000; r++)
#pragma GCC unroll 16
      for (int k = 0; k < 8; k++) {
        __m256i p = _mm256_maddubs_epi16(x[k], b);
        acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(p, ones));
        x[k] = _mm256_xor_si256(x[k], p);
      }
    n += 1000;
  } while (now() - t0 < seconds);
  __m256i s = acc[0];
  for (int k = 1; k < 8; k++) s = _mm256_add_epi32(s, _mm256_add_epi32(acc[k], x[k]));
  sink_i = _mm256_extract_epi32(s, 0);
  *iters = n;
  return NULL;
}

#ifdef __x86_64__
/* AVX-512 VNNI vpdpbusd: 64 u8*s8 multiply-adds per instruction. 12 chains. */
__attribute__((target("avx512f,avx512vnni"))) static void *int8_vnni_loop(void *arg) {
  long *iters = arg;
  __m512i acc[12], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (int k = 0; k < 12; k++) acc[k] = _mm512_setzero_si512();
  long n = 0;
  double t0 = now();
  do {
    for (int r = 0; r < 1000; r++)
#pragma GCC unroll 16
      for (int k = 0; k < 12; k++) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
    n += 1000;
  } while (now() - t0 < seconds);
  __m512i s = acc[0];
  for (int k = 1; k < 12; k++) s = _mm512_add_epi32(s, acc[k]);
  sink_i = _mm512_reduce_add_epi32(s);
  *iters = n;
  return NULL;
}
#endif

/* Runs `loop` on `threads` threads; returns operations per second (2 per multiply-add). */
static double run(void *(*loop)(void *), int threads, double ops_per_iter) {
  pthread_t t[256];
  long iters[256];
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, loop, &iters[i]);
  long total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += iters[i];
  }
  return total * ops_per_iter / (now() - t0);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) threads = 1;
  if (argc > 2) seconds = atof(argv[2]);
  __builtin_cpu_init();
  printf("{\"threads\": %d", threads);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    printf(", \"fp32_fma_avx2_gflops\": %.1f", run(fma_loop, threads, 12.0 * 8 * 2) / 1e9);
    printf(", \"int8_avx2_gops\": %.1f", run(int8_avx2_loop, threads, 8.0 * 32 * 2) / 1e9);
  }
#ifdef __x86_64__
  if (__builtin_cpu_supports("avx512vnni"))
    printf(", \"int8_vnni_gops\": %.1f", run(int8_vnni_loop, threads, 12.0 * 64 * 2) / 1e9);
  else
    printf(", \"int8_vnni_gops\": null");
#endif
  printf("}\n");
  return 0;
}
