!> libdgmf Fortran bindings through iso_c_binding: one procedure per function of include/dgmf.h.
!>
!> Written by scripts/gen-fortran.py from bindings/fortran/dgmf.f90.in (this frame), bindings/fortran/dgmf.toml
!> (one row per procedure) and include/dgmf.h (constants and the bind(C) interfaces); do not edit the output.
!>
!> Handles are derived types with `final` procedures (dgmf_options_t, dgmf_model_t, dgmf_config_t, dgmf_moments_t):
!> a handle is freed when it goes out of scope, or explicitly with dgmf_*_destroy. Do not copy handles with `=`:
!> two copies would free the same object. Every procedure is also a type-bound procedure of its handle, named
!> without the prefix (as in FTorch): `call model%load(path)` is `call dgmf_model_load(model, path)`,
!> `call model%predict(config, params, fidelity, mean)` is `call dgmf_predict(model, config, ...)`. The one
!> exception is dgmf_moments_merge_packed, a plain procedure on packed buffers (for an MPI user op).
!>
!> Errors: every procedure takes optional `stat` and `errmsg`. With `stat` present, the status code (DGMF_OK = 0
!> on success) is stored there and the program goes on; with `stat` absent, an error stops the program with
!> the library's message (error stop, from this module: the library itself never stops a program). All of that
!> policy lives in two helpers, `finish` and `message`; each procedure calls both (gfortran 12 loses a
!> deferred-length optional `errmsg` forwarded through one more optional dummy, so they cannot be one call).
!> A failure this module finds itself (a negative count, arrays that disagree) is DGMF_ERR_INVALID_ARGUMENT
!> with a message naming the argument; C is not called then.
!>
!> Arrays are passed without copies by the reversed-dimension convention: the row-major C field [C, H, W] is the
!> Fortran array u(W, H, C); a batch [n, C, H, W] is u(W, H, C, n); batch parameters [n, P] are params(P, n).
!> dgmf_reverse_dims gives the natural-order copy for codes that want u(C, H, W).
!>
!> Indices into the caller's arrays are 1-based (a parameter, a coordinate, a query of a dgmf_moments_t); offsets
!> in the noise-stream numbering are 0-based, as in C (first_sample of dgmf_predict_moments, first_query).
module dgmf
   use, intrinsic :: iso_c_binding
   implicit none
   private

   ! Constants from include/dgmf.h.
   integer(c_int), parameter, public :: DGMF_OK = 0
   integer(c_int), parameter, public :: DGMF_ERR_NULL_ARGUMENT = 1
   integer(c_int), parameter, public :: DGMF_ERR_INVALID_ARGUMENT = 2
   integer(c_int), parameter, public :: DGMF_ERR_BUFFER_TOO_SMALL = 3
   integer(c_int), parameter, public :: DGMF_ERR_CONTRACT = 4
   integer(c_int), parameter, public :: DGMF_ERR_MODEL_LOAD = 5
   integer(c_int), parameter, public :: DGMF_ERR_RUNTIME_NOT_FOUND = 6
   integer(c_int), parameter, public :: DGMF_ERR_PROVIDER_UNAVAILABLE = 7
   integer(c_int), parameter, public :: DGMF_ERR_CANCELLED = 8
   integer(c_int), parameter, public :: DGMF_ERR_INFERENCE = 9
   integer(c_int), parameter, public :: DGMF_ERR_IO = 10
   integer(c_int), parameter, public :: DGMF_ERR_INTERNAL = 11
   integer(c_int), parameter, public :: DGMF_FIDELITY_DISCRETE = 0
   integer(c_int), parameter, public :: DGMF_FIDELITY_CONTINUOUS = 1
   !> The header's limits and defaults, in the kinds the setters below take.
   integer, parameter, public :: DGMF_MAX_STEPS = 100000
   integer, parameter, public :: DGMF_MAX_CORRECTOR_STEPS = 100
   integer, parameter, public :: DGMF_DEFAULT_STEPS = 30
   integer, parameter, public :: DGMF_DEFAULT_MAX_BATCH = 64
   integer(c_int64_t), parameter, public :: DGMF_DEFAULT_MEMORY_LIMIT = 4294967296_c_int64_t
   integer, parameter, public :: DGMF_MAX_THREADS = 1024

   type, public :: dgmf_options_t
      type(c_ptr) :: ptr = c_null_ptr
   contains
      procedure :: destroy => dgmf_options_destroy
      procedure :: create => dgmf_options_create
      procedure :: set_ort_library => dgmf_options_set_ort_library
      procedure :: set_provider => dgmf_options_set_provider
      procedure :: set_tensorrt => dgmf_options_set_tensorrt
      procedure :: set_threads => dgmf_options_set_threads
      procedure :: set_max_sessions => dgmf_options_set_max_sessions
      procedure :: set_optimization => dgmf_options_set_optimization
      final :: options_final
   end type

   type, public :: dgmf_model_t
      type(c_ptr) :: ptr = c_null_ptr
   contains
      procedure :: destroy => dgmf_model_destroy
      procedure :: load => dgmf_model_load
      procedure :: load_from_memory => dgmf_model_load_from_memory
      procedure :: rank => dgmf_model_rank
      procedure :: shape => dgmf_model_shape
      procedure :: sample_len => dgmf_model_sample_len
      procedure :: members => dgmf_model_members
      procedure :: num_params => dgmf_model_num_params
      procedure :: param => dgmf_model_param
      procedure :: num_coords => dgmf_model_num_coords
      procedure :: coord => dgmf_model_coord
      procedure :: fidelity => dgmf_model_fidelity
      procedure :: fidelity_label => dgmf_model_fidelity_label
      procedure :: sigma_range => dgmf_model_sigma_range
      procedure :: name => dgmf_model_name
      procedure :: provider => dgmf_model_provider
      procedure :: precision => dgmf_model_precision
      procedure :: predict_batch => dgmf_predict_batch
      procedure :: predict => dgmf_predict
      procedure :: predict_moments => dgmf_predict_moments
      procedure :: std_rms => dgmf_std_rms
      procedure :: moments_packed_len => dgmf_moments_packed_len
      final :: model_final
   end type

   type, public :: dgmf_config_t
      type(c_ptr) :: ptr = c_null_ptr
   contains
      procedure :: destroy => dgmf_config_destroy
      procedure :: create => dgmf_config_create
      procedure :: create_for_model => dgmf_config_create_for_model
      procedure :: set_steps => dgmf_config_set_steps
      procedure :: set_schedule => dgmf_config_set_schedule
      procedure :: set_corrector => dgmf_config_set_corrector
      procedure :: set_churn => dgmf_config_set_churn
      procedure :: set_sigma_last => dgmf_config_set_sigma_last
      procedure :: set_denoise => dgmf_config_set_denoise
      procedure :: set_samples => dgmf_config_set_samples
      procedure :: set_seed => dgmf_config_set_seed
      procedure :: set_first_query => dgmf_config_set_first_query
      procedure :: set_max_batch => dgmf_config_set_max_batch
      procedure :: set_extrapolation => dgmf_config_set_extrapolation
      procedure :: set_memory_limit => dgmf_config_set_memory_limit
      procedure :: set_time_limit => dgmf_config_set_time_limit
      procedure :: set_progress => dgmf_config_set_progress
      procedure :: nfe => dgmf_config_nfe
      final :: config_final
   end type

   type, public :: dgmf_moments_t
      type(c_ptr) :: ptr = c_null_ptr
   contains
      procedure :: destroy => dgmf_moments_destroy
      procedure :: create => dgmf_moments_create
      procedure :: merge => dgmf_moments_merge
      procedure :: num_queries => dgmf_moments_num_queries
      procedure :: count => dgmf_moments_count
      procedure :: finish => dgmf_moments_finish
      procedure :: pack => dgmf_moments_pack
      procedure :: unpack => dgmf_moments_unpack
      final :: moments_final
   end type

   public :: dgmf_version, dgmf_last_error, dgmf_status_string, dgmf_reverse_dims
   public :: dgmf_options_destroy, dgmf_model_destroy, dgmf_config_destroy, dgmf_moments_destroy
   public :: dgmf_options_create, dgmf_options_set_ort_library, dgmf_options_set_provider, dgmf_options_set_tensorrt
   public :: dgmf_options_set_threads, dgmf_options_set_max_sessions, dgmf_options_set_optimization, dgmf_model_load
   public :: dgmf_model_load_from_memory, dgmf_model_rank, dgmf_model_shape, dgmf_model_sample_len
   public :: dgmf_model_members, dgmf_model_num_params, dgmf_model_param, dgmf_model_num_coords
   public :: dgmf_model_coord, dgmf_model_fidelity, dgmf_model_fidelity_label, dgmf_model_sigma_range
   public :: dgmf_model_name, dgmf_model_provider, dgmf_model_precision, dgmf_config_create
   public :: dgmf_config_create_for_model, dgmf_config_set_steps, dgmf_config_set_schedule, dgmf_config_set_corrector
   public :: dgmf_config_set_churn, dgmf_config_set_sigma_last, dgmf_config_set_denoise, dgmf_config_set_samples
   public :: dgmf_config_set_seed, dgmf_config_set_first_query, dgmf_config_set_max_batch, &
         dgmf_config_set_extrapolation
   public :: dgmf_config_set_memory_limit, dgmf_config_set_time_limit, dgmf_config_set_progress, dgmf_config_nfe
   public :: dgmf_predict_batch, dgmf_predict, dgmf_predict_moments, dgmf_moments_create
   public :: dgmf_moments_merge, dgmf_moments_num_queries, dgmf_moments_count, dgmf_moments_finish
   public :: dgmf_std_rms, dgmf_moments_packed_len, dgmf_moments_pack, dgmf_moments_unpack
   public :: dgmf_moments_merge_packed

   interface dgmf_reverse_dims
      module procedure reverse_dims_2, reverse_dims_3, reverse_dims_4
   end interface

   ! The C functions, bound by name (from include/dgmf.h). Handles and buffers travel as type(c_ptr) by
   ! value, out-handles and out-strings as type(c_ptr) by reference.
   interface
      function c_last_error() bind(C, name="dgmf_last_error")
         import :: c_ptr
         type(c_ptr) :: c_last_error
      end function
      function c_status_string(status) bind(C, name="dgmf_status_string")
         import :: c_int32_t, c_ptr
         integer(c_int32_t), value :: status
         type(c_ptr) :: c_status_string
      end function
      function c_version() bind(C, name="dgmf_version")
         import :: c_ptr
         type(c_ptr) :: c_version
      end function
      function c_config_create(sampler, out) bind(C, name="dgmf_config_create")
         import :: c_int, c_ptr
         type(c_ptr), value :: sampler
         type(c_ptr) :: out
         integer(c_int) :: c_config_create
      end function
      function c_config_create_for_model(model, out) bind(C, name="dgmf_config_create_for_model")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr) :: out
         integer(c_int) :: c_config_create_for_model
      end function
      subroutine c_config_destroy(config) bind(C, name="dgmf_config_destroy")
         import :: c_ptr
         type(c_ptr), value :: config
      end subroutine
      function c_config_set_steps(config, steps) bind(C, name="dgmf_config_set_steps")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: config
         integer(c_size_t), value :: steps
         integer(c_int) :: c_config_set_steps
      end function
      function c_config_set_schedule(config, schedule) bind(C, name="dgmf_config_set_schedule")
         import :: c_int, c_ptr
         type(c_ptr), value :: config
         type(c_ptr), value :: schedule
         integer(c_int) :: c_config_set_schedule
      end function
      function c_config_set_corrector(config, snr, steps) bind(C, name="dgmf_config_set_corrector")
         import :: c_float, c_int, c_ptr, c_size_t
         type(c_ptr), value :: config
         real(c_float), value :: snr
         integer(c_size_t), value :: steps
         integer(c_int) :: c_config_set_corrector
      end function
      function c_config_set_churn(config, s_churn, s_min, s_max, s_noise) bind(C, name="dgmf_config_set_churn")
         import :: c_float, c_int, c_ptr
         type(c_ptr), value :: config
         real(c_float), value :: s_churn
         real(c_float), value :: s_min
         real(c_float), value :: s_max
         real(c_float), value :: s_noise
         integer(c_int) :: c_config_set_churn
      end function
      function c_config_set_sigma_last(config, sigma) bind(C, name="dgmf_config_set_sigma_last")
         import :: c_float, c_int, c_ptr
         type(c_ptr), value :: config
         real(c_float), value :: sigma
         integer(c_int) :: c_config_set_sigma_last
      end function
      function c_config_set_denoise(config, denoise) bind(C, name="dgmf_config_set_denoise")
         import :: c_int, c_int32_t, c_ptr
         type(c_ptr), value :: config
         integer(c_int32_t), value :: denoise
         integer(c_int) :: c_config_set_denoise
      end function
      function c_config_set_samples(config, samples) bind(C, name="dgmf_config_set_samples")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: config
         integer(c_size_t), value :: samples
         integer(c_int) :: c_config_set_samples
      end function
      function c_config_set_seed(config, seed) bind(C, name="dgmf_config_set_seed")
         import :: c_int, c_int64_t, c_ptr
         type(c_ptr), value :: config
         integer(c_int64_t), value :: seed
         integer(c_int) :: c_config_set_seed
      end function
      function c_config_set_first_query(config, first_query) bind(C, name="dgmf_config_set_first_query")
         import :: c_int, c_int64_t, c_ptr
         type(c_ptr), value :: config
         integer(c_int64_t), value :: first_query
         integer(c_int) :: c_config_set_first_query
      end function
      function c_config_set_max_batch(config, max_batch) bind(C, name="dgmf_config_set_max_batch")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: config
         integer(c_size_t), value :: max_batch
         integer(c_int) :: c_config_set_max_batch
      end function
      function c_config_set_extrapolation(config, allow) bind(C, name="dgmf_config_set_extrapolation")
         import :: c_int, c_int32_t, c_ptr
         type(c_ptr), value :: config
         integer(c_int32_t), value :: allow
         integer(c_int) :: c_config_set_extrapolation
      end function
      function c_config_set_memory_limit(config, bytes) bind(C, name="dgmf_config_set_memory_limit")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: config
         integer(c_size_t), value :: bytes
         integer(c_int) :: c_config_set_memory_limit
      end function
      function c_config_set_time_limit(config, seconds) bind(C, name="dgmf_config_set_time_limit")
         import :: c_double, c_int, c_ptr
         type(c_ptr), value :: config
         real(c_double), value :: seconds
         integer(c_int) :: c_config_set_time_limit
      end function
      function c_config_set_progress(config, callback, user_data) bind(C, name="dgmf_config_set_progress")
         import :: c_funptr, c_int, c_ptr
         type(c_ptr), value :: config
         type(c_funptr), value :: callback
         type(c_ptr), value :: user_data
         integer(c_int) :: c_config_set_progress
      end function
      function c_config_nfe(config, nfe) bind(C, name="dgmf_config_nfe")
         import :: c_int, c_ptr
         type(c_ptr), value :: config
         type(c_ptr), value :: nfe
         integer(c_int) :: c_config_nfe
      end function
      function c_model_load(path, options, out) bind(C, name="dgmf_model_load")
         import :: c_int, c_ptr
         type(c_ptr), value :: path
         type(c_ptr), value :: options
         type(c_ptr) :: out
         integer(c_int) :: c_model_load
      end function
      function c_model_load_from_memory(data, len, options, out) bind(C, name="dgmf_model_load_from_memory")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: data
         integer(c_size_t), value :: len
         type(c_ptr), value :: options
         type(c_ptr) :: out
         integer(c_int) :: c_model_load_from_memory
      end function
      subroutine c_model_destroy(model) bind(C, name="dgmf_model_destroy")
         import :: c_ptr
         type(c_ptr), value :: model
      end subroutine
      function c_model_rank(model, rank) bind(C, name="dgmf_model_rank")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: rank
         integer(c_int) :: c_model_rank
      end function
      function c_model_shape(model, dims, len) bind(C, name="dgmf_model_shape")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         type(c_ptr), value :: dims
         integer(c_size_t), value :: len
         integer(c_int) :: c_model_shape
      end function
      function c_model_sample_len(model, len) bind(C, name="dgmf_model_sample_len")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: len
         integer(c_int) :: c_model_sample_len
      end function
      function c_model_members(model, members) bind(C, name="dgmf_model_members")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: members
         integer(c_int) :: c_model_members
      end function
      function c_model_num_params(model, count) bind(C, name="dgmf_model_num_params")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: count
         integer(c_int) :: c_model_num_params
      end function
      function c_model_param(model, index, name, min, max) bind(C, name="dgmf_model_param")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: index
         type(c_ptr) :: name
         type(c_ptr), value :: min
         type(c_ptr), value :: max
         integer(c_int) :: c_model_param
      end function
      function c_model_num_coords(model, count) bind(C, name="dgmf_model_num_coords")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: count
         integer(c_int) :: c_model_num_coords
      end function
      function c_model_coord(model, index, name, min, max) bind(C, name="dgmf_model_coord")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: index
         type(c_ptr) :: name
         type(c_ptr), value :: min
         type(c_ptr), value :: max
         integer(c_int) :: c_model_coord
      end function
      function c_model_fidelity(model, kind, levels, lo, hi) bind(C, name="dgmf_model_fidelity")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: kind
         type(c_ptr), value :: levels
         type(c_ptr), value :: lo
         type(c_ptr), value :: hi
         integer(c_int) :: c_model_fidelity
      end function
      function c_model_fidelity_label(model, level, label) bind(C, name="dgmf_model_fidelity_label")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: level
         type(c_ptr) :: label
         integer(c_int) :: c_model_fidelity_label
      end function
      function c_model_sigma_range(model, sigma_min, sigma_max) bind(C, name="dgmf_model_sigma_range")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr), value :: sigma_min
         type(c_ptr), value :: sigma_max
         integer(c_int) :: c_model_sigma_range
      end function
      function c_model_name(model, name) bind(C, name="dgmf_model_name")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr) :: name
         integer(c_int) :: c_model_name
      end function
      function c_model_provider(model, provider) bind(C, name="dgmf_model_provider")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr) :: provider
         integer(c_int) :: c_model_provider
      end function
      function c_model_precision(model, precision) bind(C, name="dgmf_model_precision")
         import :: c_int, c_ptr
         type(c_ptr), value :: model
         type(c_ptr) :: precision
         integer(c_int) :: c_model_precision
      end function
      function c_predict_moments(model, config, n, params, fidelity, coords, first_sample, count, out) bind(C, &
            name="dgmf_predict_moments")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         type(c_ptr), value :: config
         integer(c_size_t), value :: n
         type(c_ptr), value :: params
         type(c_ptr), value :: fidelity
         type(c_ptr), value :: coords
         integer(c_size_t), value :: first_sample
         integer(c_size_t), value :: count
         type(c_ptr) :: out
         integer(c_int) :: c_predict_moments
      end function
      function c_moments_create(model, n_queries, out) bind(C, name="dgmf_moments_create")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: n_queries
         type(c_ptr) :: out
         integer(c_int) :: c_moments_create
      end function
      function c_moments_merge(into, other) bind(C, name="dgmf_moments_merge")
         import :: c_int, c_ptr
         type(c_ptr), value :: into
         type(c_ptr), value :: other
         integer(c_int) :: c_moments_merge
      end function
      function c_moments_num_queries(moments, n_queries) bind(C, name="dgmf_moments_num_queries")
         import :: c_int, c_ptr
         type(c_ptr), value :: moments
         type(c_ptr), value :: n_queries
         integer(c_int) :: c_moments_num_queries
      end function
      function c_moments_count(moments, query, count) bind(C, name="dgmf_moments_count")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: moments
         integer(c_size_t), value :: query
         type(c_ptr), value :: count
         integer(c_int) :: c_moments_count
      end function
      function c_moments_finish(model, moments, fidelity, mean, mean_len, std, std_len) bind(C, &
            name="dgmf_moments_finish")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         type(c_ptr), value :: moments
         type(c_ptr), value :: fidelity
         type(c_ptr), value :: mean
         integer(c_size_t), value :: mean_len
         type(c_ptr), value :: std
         integer(c_size_t), value :: std_len
         integer(c_int) :: c_moments_finish
      end function
      function c_moments_packed_len(model, n_queries, len) bind(C, name="dgmf_moments_packed_len")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: n_queries
         type(c_ptr), value :: len
         integer(c_int) :: c_moments_packed_len
      end function
      function c_moments_pack(moments, buf, len) bind(C, name="dgmf_moments_pack")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: moments
         type(c_ptr), value :: buf
         integer(c_size_t), value :: len
         integer(c_int) :: c_moments_pack
      end function
      function c_moments_unpack(model, n_queries, buf, len, out) bind(C, name="dgmf_moments_unpack")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: n_queries
         type(c_ptr), value :: buf
         integer(c_size_t), value :: len
         type(c_ptr) :: out
         integer(c_int) :: c_moments_unpack
      end function
      function c_moments_merge_packed(in_, inout, n_queries, sample_len) bind(C, name="dgmf_moments_merge_packed")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: in_
         type(c_ptr), value :: inout
         integer(c_size_t), value :: n_queries
         integer(c_size_t), value :: sample_len
         integer(c_int) :: c_moments_merge_packed
      end function
      subroutine c_moments_destroy(moments) bind(C, name="dgmf_moments_destroy")
         import :: c_ptr
         type(c_ptr), value :: moments
      end subroutine
      function c_options_create(out) bind(C, name="dgmf_options_create")
         import :: c_int, c_ptr
         type(c_ptr) :: out
         integer(c_int) :: c_options_create
      end function
      subroutine c_options_destroy(options) bind(C, name="dgmf_options_destroy")
         import :: c_ptr
         type(c_ptr), value :: options
      end subroutine
      function c_options_set_ort_library(options, path) bind(C, name="dgmf_options_set_ort_library")
         import :: c_int, c_ptr
         type(c_ptr), value :: options
         type(c_ptr), value :: path
         integer(c_int) :: c_options_set_ort_library
      end function
      function c_options_set_provider(options, provider, allow_fallback) bind(C, name="dgmf_options_set_provider")
         import :: c_int, c_int32_t, c_ptr
         type(c_ptr), value :: options
         type(c_ptr), value :: provider
         integer(c_int32_t), value :: allow_fallback
         integer(c_int) :: c_options_set_provider
      end function
      function c_options_set_tensorrt(options, fp16, engine_cache_dir) bind(C, name="dgmf_options_set_tensorrt")
         import :: c_int, c_int32_t, c_ptr
         type(c_ptr), value :: options
         integer(c_int32_t), value :: fp16
         type(c_ptr), value :: engine_cache_dir
         integer(c_int) :: c_options_set_tensorrt
      end function
      function c_options_set_threads(options, intra_threads) bind(C, name="dgmf_options_set_threads")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: options
         integer(c_size_t), value :: intra_threads
         integer(c_int) :: c_options_set_threads
      end function
      function c_options_set_max_sessions(options, max_sessions) bind(C, name="dgmf_options_set_max_sessions")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: options
         integer(c_size_t), value :: max_sessions
         integer(c_int) :: c_options_set_max_sessions
      end function
      function c_options_set_optimization(options, level) bind(C, name="dgmf_options_set_optimization")
         import :: c_int, c_int32_t, c_ptr
         type(c_ptr), value :: options
         integer(c_int32_t), value :: level
         integer(c_int) :: c_options_set_optimization
      end function
      function c_std_rms(model, n, std, std_len, rms, rms_len) bind(C, name="dgmf_std_rms")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         integer(c_size_t), value :: n
         type(c_ptr), value :: std
         integer(c_size_t), value :: std_len
         type(c_ptr), value :: rms
         integer(c_size_t), value :: rms_len
         integer(c_int) :: c_std_rms
      end function
      function c_predict_batch(model, config, n, params, fidelity, coords, mean, mean_len, std, std_len) bind(C, &
            name="dgmf_predict_batch")
         import :: c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         type(c_ptr), value :: config
         integer(c_size_t), value :: n
         type(c_ptr), value :: params
         type(c_ptr), value :: fidelity
         type(c_ptr), value :: coords
         type(c_ptr), value :: mean
         integer(c_size_t), value :: mean_len
         type(c_ptr), value :: std
         integer(c_size_t), value :: std_len
         integer(c_int) :: c_predict_batch
      end function
      function c_predict(model, config, params, fidelity, coords, mean, mean_len, std, std_len) bind(C, &
            name="dgmf_predict")
         import :: c_double, c_int, c_ptr, c_size_t
         type(c_ptr), value :: model
         type(c_ptr), value :: config
         type(c_ptr), value :: params
         real(c_double), value :: fidelity
         type(c_ptr), value :: coords
         type(c_ptr), value :: mean
         integer(c_size_t), value :: mean_len
         type(c_ptr), value :: std
         integer(c_size_t), value :: std_len
         integer(c_int) :: c_predict
      end function
   end interface

contains

   ! ---- helpers -----------------------------------------------------------------------------------------

   !> A NUL-terminated copy of a Fortran string (trailing blanks dropped), as an array c_loc may point at.
   subroutine to_c(s, chars)
      character(len=*), intent(in) :: s
      character(kind=c_char), allocatable, intent(out) :: chars(:)
      integer :: i, n
      n = len_trim(s)
      allocate (chars(n + 1))
      do i = 1, n
         chars(i) = s(i:i)
      end do
      chars(n + 1) = c_null_char
   end subroutine

   !> `p` at a NUL-terminated copy of `s` in `chars`; NULL when `s` is absent or blank (C's "none").
   subroutine to_c_or_null(chars, p, s)
      character(kind=c_char), allocatable, target, intent(out) :: chars(:)
      type(c_ptr), intent(out) :: p
      character(len=*), intent(in), optional :: s
      p = c_null_ptr
      if (.not. present(s)) return
      if (len_trim(s) == 0) return
      call to_c(s, chars)
      p = c_loc(chars)
   end subroutine

   !> The Fortran copy of a C string (empty for NULL).
   function f_string(p) result(s)
      type(c_ptr), intent(in) :: p
      character(len=:), allocatable :: s
      character(kind=c_char), pointer :: chars(:)
      integer :: n
      interface
         function strlen(str) bind(C, name="strlen")
            import :: c_ptr, c_size_t
            type(c_ptr), value :: str
            integer(c_size_t) :: strlen
         end function
      end interface
      if (.not. c_associated(p)) then
         s = ""
         return
      end if
      n = int(strlen(p))
      call c_f_pointer(p, chars, [n])
      allocate (character(len=n) :: s)
      s = transfer(chars(1:n), s)
   end function

   !> The message of a failed call: this module's own (`why`, when not blank), else the library's.
   function failure(why) result(m)
      character(len=*), intent(in), optional :: why
      character(len=:), allocatable :: m
      m = f_string(c_last_error())
      if (present(why)) then
         if (len_trim(why) > 0) m = trim(why)
      end if
   end function

   !> Reports a status: into stat when given, else stops the program on failure.
   subroutine finish(status, stat, why)
      integer(c_int), intent(in) :: status
      integer, intent(out), optional :: stat
      character(len=*), intent(in), optional :: why  !! this module's message, if it found the failure
      if (present(stat)) then
         stat = status
      else if (status /= DGMF_OK) then
         error stop "libdgmf: "//failure(why)
      end if
   end subroutine

   !> The errmsg of a call that returned `stat` ("" on success). Kept apart from `finish` because gfortran 12
   !> loses a deferred-length optional argument forwarded to another optional one.
   subroutine message(errmsg, stat, why)
      character(len=:), allocatable, intent(out) :: errmsg
      integer, intent(in), optional :: stat
      character(len=*), intent(in), optional :: why
      errmsg = ""
      if (present(stat)) then
         if (stat /= DGMF_OK) errmsg = failure(why)
      end if
   end subroutine

   !> The address of a buffer for C, NULL when it is empty (C takes an empty buffer as NULL with length 0).
   function address(buf) result(p)
      real(c_double), intent(in), target, contiguous :: buf(:)
      type(c_ptr) :: p
      p = c_null_ptr
      if (size(buf) > 0) p = c_loc(buf)
   end function

   !> The address and length of an optional output array (NULL and 0 when absent).
   subroutine optional_buffer(p, n, buf)
      type(c_ptr), intent(out) :: p
      integer(c_size_t), intent(out) :: n
      real(c_float), intent(in), target, contiguous, optional :: buf(..)
      p = c_null_ptr
      n = 0
      if (.not. present(buf)) return
      p = c_loc(buf)
      n = size(buf, kind=c_size_t)
   end subroutine

   !> What is wrong with a batch's arrays (params(P, n), fidelity(n), coords(Q, n)) against each other and
   !> the model; "" when nothing. `c` receives the address of coords (NULL when absent or empty).
   function batch_check(model, params, fidelity, c, coords) result(why)
      type(dgmf_model_t), intent(in) :: model
      real(c_double), intent(in) :: params(:, :), fidelity(:)
      type(c_ptr), intent(out) :: c
      real(c_double), intent(in), target, contiguous, optional :: coords(:, :)
      character(len=:), allocatable :: why
      c = c_null_ptr
      if (size(params, 2) /= size(fidelity)) then
         why = "params(P, n) and fidelity(n) disagree on n"
      else if (.not. present(coords)) then
         why = sizes_check(model, size(params, 1), 0)
      else if (size(coords, 2) /= size(fidelity)) then
         why = "coords(Q, n) and fidelity(n) disagree on n"
      else
         if (size(coords) > 0) c = c_loc(coords)
         why = sizes_check(model, size(params, 1), size(coords, 1))
      end if
   end function

   !> What is wrong with the extents of params (P) and coords (Q) against the model; "" when nothing (also
   !> when the model cannot be asked: the C call then reports the bad model itself).
   function sizes_check(model, p, q) result(why)
      type(dgmf_model_t), intent(in) :: model
      integer, intent(in) :: p, q
      character(len=:), allocatable :: why
      integer :: mp, mq, s1, s2
      character(len=120) :: text
      why = ""
      call dgmf_model_num_params(model, mp, s1)
      call dgmf_model_num_coords(model, mq, s2)
      if (s1 /= DGMF_OK .or. s2 /= DGMF_OK) return
      if (p /= mp .or. q /= mq) then
         write (text, '(i0, a, i0, a, i0, a, i0, a)') p, " parameters and ", q, " coordinates given, but the model takes ", &
            mp, " and ", mq, " (params(P, n), coords(Q, n))"
         why = trim(text)
      end if
   end function

   ! ---- library ----------------------------------------------------------------------------------------

   !> "MAJOR.MINOR.PATCH".
   function dgmf_version() result(v)
      character(len=:), allocatable :: v
      v = f_string(c_version())
   end function

   !> Message of the last failure on this thread.
   function dgmf_last_error() result(m)
      character(len=:), allocatable :: m
      m = f_string(c_last_error())
   end function

   !> The name of a status code, e.g. "DGMF_ERR_CONTRACT".
   function dgmf_status_string(status) result(m)
      integer, intent(in) :: status
      character(len=:), allocatable :: m
      m = f_string(c_status_string(int(status, c_int32_t)))
   end function

   ! ---- options ---------------------------------------------------------------------------------------------

   subroutine dgmf_options_destroy(opts)
      class(dgmf_options_t), intent(inout) :: opts  !! freed; a null handle is a no-op
      call c_options_destroy(opts%ptr)
      opts%ptr = c_null_ptr
   end subroutine

   subroutine options_final(opts)
      type(dgmf_options_t), intent(inout) :: opts
      call dgmf_options_destroy(opts)
   end subroutine

   subroutine dgmf_options_create(opts, stat, errmsg)
      class(dgmf_options_t), intent(inout) :: opts  !! receives new options (options it held are freed first)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call dgmf_options_destroy(opts)
      call finish(c_options_create(opts%ptr), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_options_set_ort_library(opts, path, stat, errmsg)
      class(dgmf_options_t), intent(in) :: opts  !! the options handle
      character(len=*), intent(in) :: path  !! path of libonnxruntime.so (the first model loaded decides)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      character(kind=c_char), allocatable, target :: path_c(:)
      call to_c(path, path_c)
      call finish(c_options_set_ort_library(opts%ptr, c_loc(path_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_options_set_provider(opts, provider, allow_fallback, stat, errmsg)
      class(dgmf_options_t), intent(in) :: opts  !! the options handle
      character(len=*), intent(in) :: provider  !! "cpu", "cuda", "cuda:N", "tensorrt" or "tensorrt:N"
      logical, intent(in) :: allow_fallback  !! .true.: fall back to the CPU if the provider cannot be registered
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      character(kind=c_char), allocatable, target :: provider_c(:)
      call to_c(provider, provider_c)
      call finish(c_options_set_provider(opts%ptr, c_loc(provider_c), &
            merge(1_c_int32_t, 0_c_int32_t, allow_fallback)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> TensorRT fp16 engines and engine cache directory (absent or "" for none).
   subroutine dgmf_options_set_tensorrt(opts, fp16, engine_cache_dir, stat, errmsg)
      class(dgmf_options_t), intent(in) :: opts  !! the options handle
      logical, intent(in) :: fp16  !! .true.: build fp16 TensorRT engines
      character(len=*), intent(in), optional :: engine_cache_dir  !! engine cache directory (absent or "": none)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      character(kind=c_char), allocatable, target :: engine_cache_dir_c(:)
      type(c_ptr) :: engine_cache_dir_p
      call to_c_or_null(engine_cache_dir_c, engine_cache_dir_p, engine_cache_dir)
      call finish(c_options_set_tensorrt(opts%ptr, merge(1_c_int32_t, 0_c_int32_t, fp16), engine_cache_dir_p), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_options_set_threads(opts, intra_threads, stat, errmsg)
      class(dgmf_options_t), intent(in) :: opts  !! the options handle
      integer, intent(in) :: intra_threads  !! ONNX Runtime threads per session (0: one per physical core; <= DGMF_MAX_THREADS)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (intra_threads < 0) why = "dgmf_options_set_threads: intra_threads must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_options_set_threads(opts%ptr, int(intra_threads, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   subroutine dgmf_options_set_max_sessions(opts, max_sessions, stat, errmsg)
      class(dgmf_options_t), intent(in) :: opts  !! the options handle
      integer, intent(in) :: max_sessions  !! sessions kept, one per concurrent caller (0: one per CPU)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (max_sessions < 0) why = "dgmf_options_set_max_sessions: max_sessions must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_options_set_max_sessions(opts%ptr, int(max_sessions, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   subroutine dgmf_options_set_optimization(opts, level, stat, errmsg)
      class(dgmf_options_t), intent(in) :: opts  !! the options handle
      integer, intent(in) :: level  !! graph optimization: 0 off, 1 basic, 2 extended, 3 all (default)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_options_set_optimization(opts%ptr, int(level, c_int32_t)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   ! ---- model -----------------------------------------------------------------------------------------------

   subroutine dgmf_model_destroy(model)
      class(dgmf_model_t), intent(inout) :: model  !! freed; a null handle is a no-op
      call c_model_destroy(model%ptr)
      model%ptr = c_null_ptr
   end subroutine

   subroutine model_final(model)
      type(dgmf_model_t), intent(inout) :: model
      call dgmf_model_destroy(model)
   end subroutine

   !> Loads a model file; `opts` is optional. A previous model held by `model` is freed first.
   subroutine dgmf_model_load(model, path, opts, stat, errmsg)
      class(dgmf_model_t), intent(inout) :: model  !! receives the model (a model it held is freed first)
      character(len=*), intent(in) :: path  !! path of the .onnx file
      type(dgmf_options_t), intent(in), optional :: opts  !! load options (absent: the defaults)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      character(kind=c_char), allocatable, target :: path_c(:)
      type(c_ptr) :: opts_p
      call dgmf_model_destroy(model)
      call to_c(path, path_c)
      opts_p = c_null_ptr
      if (present(opts)) opts_p = opts%ptr
      call finish(c_model_load(c_loc(path_c), opts_p, model%ptr), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> Loads a model from the bytes of an ONNX file (copied).
   subroutine dgmf_model_load_from_memory(model, bytes, opts, stat, errmsg)
      class(dgmf_model_t), intent(inout) :: model  !! receives the model (a model it held is freed first)
      integer(c_int8_t), intent(in), target :: bytes(:)  !! the bytes of an ONNX file (copied)
      type(dgmf_options_t), intent(in), optional :: opts  !! load options (absent: the defaults)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: opts_p
      call dgmf_model_destroy(model)
      opts_p = c_null_ptr
      if (present(opts)) opts_p = opts%ptr
      call finish(c_model_load_from_memory(c_loc(bytes), size(bytes, kind=c_size_t), opts_p, model%ptr), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_model_rank(model, rank, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(out) :: rank  !! number of dimensions of one sample
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: rank_c
      rank_c = 0
      call finish(c_model_rank(model%ptr, c_loc(rank_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      rank = int(rank_c)
   end subroutine

   !> The per-sample dims in C (row-major) order, e.g. [1, 32, 32]; the Fortran array is u(32, 32, 1).
   subroutine dgmf_model_shape(model, dims, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      !! dims: per-sample dims in C order, e.g. [1, 32, 32] for the Fortran array u(32, 32, 1)
      integer, allocatable, intent(out) :: dims(:)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: d(16)
      integer :: rank, s
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      ! The rank first, to allocate the caller's array (a bad model fails the shape call just the same).
      call dgmf_model_rank(model, rank, s)
      allocate (dims(0))
      d = 0
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_model_shape(model%ptr, c_loc(d), int(size(d), c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
      if (status == DGMF_OK) dims = int(d(1:rank))
   end subroutine

   subroutine dgmf_model_sample_len(model, len, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(out) :: len  !! values per sample (product of the dims)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: len_c
      len_c = 0
      call finish(c_model_sample_len(model%ptr, c_loc(len_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      len = int(len_c)
   end subroutine

   subroutine dgmf_model_members(model, members, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(out) :: members  !! networks in the model: K >= 2 for a deep ensemble, 1 for one network
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: members_c
      members_c = 0
      call finish(c_model_members(model%ptr, c_loc(members_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      members = int(members_c)
   end subroutine

   subroutine dgmf_model_num_params(model, count, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(out) :: count  !! number of PDE parameters P
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: count_c
      count_c = 0
      call finish(c_model_num_params(model%ptr, c_loc(count_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      count = int(count_c)
   end subroutine

   !> Parameter `index` (1-based, Fortran style): name and range.
   subroutine dgmf_model_param(model, index, name, min, max, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(in) :: index  !! 1-based parameter index
      character(len=:), allocatable, intent(out) :: name  !! the parameter's name
      real(c_double), intent(out) :: min  !! least value the training data covers
      real(c_double), intent(out) :: max  !! greatest value the training data covers
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: name_c
      real(c_double), target :: min_c
      real(c_double), target :: max_c
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      name_c = c_null_ptr
      min_c = 0
      max_c = 0
      if (index < 1) why = "dgmf_model_param: index is 1-based: it must be >= 1"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_model_param(model%ptr, int(index - 1, c_size_t), name_c, c_loc(min_c), c_loc(max_c))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
      name = f_string(name_c)
      min = min_c
      max = max_c
   end subroutine

   subroutine dgmf_model_num_coords(model, count, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(out) :: count  !! number of coordinates Q (0: none)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: count_c
      count_c = 0
      call finish(c_model_num_coords(model%ptr, c_loc(count_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      count = int(count_c)
   end subroutine

   !> Coordinate `index` (1-based): name and range.
   subroutine dgmf_model_coord(model, index, name, min, max, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(in) :: index  !! 1-based coordinate index
      character(len=:), allocatable, intent(out) :: name  !! the coordinate's name
      real(c_double), intent(out) :: min  !! least value the training data covers
      real(c_double), intent(out) :: max  !! greatest value the training data covers
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: name_c
      real(c_double), target :: min_c
      real(c_double), target :: max_c
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      name_c = c_null_ptr
      min_c = 0
      max_c = 0
      if (index < 1) why = "dgmf_model_coord: index is 1-based: it must be >= 1"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_model_coord(model%ptr, int(index - 1, c_size_t), name_c, c_loc(min_c), c_loc(max_c))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
      name = f_string(name_c)
      min = min_c
      max = max_c
   end subroutine

   !> Fidelity kind (DGMF_FIDELITY_DISCRETE/CONTINUOUS), levels (0 if continuous), and range.
   subroutine dgmf_model_fidelity(model, kind, levels, lo, hi, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(out) :: kind  !! DGMF_FIDELITY_DISCRETE or DGMF_FIDELITY_CONTINUOUS
      integer, intent(out) :: levels  !! number of discrete levels (0 if continuous)
      real(c_double), intent(out) :: lo  !! least fidelity value
      real(c_double), intent(out) :: hi  !! greatest fidelity value
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int), target :: kind_c
      integer(c_size_t), target :: levels_c
      real(c_double), target :: lo_c
      real(c_double), target :: hi_c
      kind_c = 0
      levels_c = 0
      lo_c = 0
      hi_c = 0
      call finish(c_model_fidelity(model%ptr, c_loc(kind_c), c_loc(levels_c), c_loc(lo_c), c_loc(hi_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      kind = int(kind_c)
      levels = int(levels_c)
      lo = lo_c
      hi = hi_c
   end subroutine

   !> Label of discrete level `level` (0-based, as the fidelity value itself), "" if none declared.
   subroutine dgmf_model_fidelity_label(model, level, label, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(in) :: level  !! 0-based discrete level
      character(len=:), allocatable, intent(out) :: label  !! the level's label, e.g. "32x32"
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: label_c
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      label_c = c_null_ptr
      if (level < 0) why = "dgmf_model_fidelity_label: level must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_model_fidelity_label(model%ptr, int(level, c_size_t), label_c)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
      label = f_string(label_c)
   end subroutine

   subroutine dgmf_model_sigma_range(model, sigma_min, sigma_max, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      real(c_double), intent(out) :: sigma_min  !! least noise level of the trained VE SDE
      real(c_double), intent(out) :: sigma_max  !! greatest noise level of the trained VE SDE
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      real(c_double), target :: sigma_min_c
      real(c_double), target :: sigma_max_c
      sigma_min_c = 0
      sigma_max_c = 0
      call finish(c_model_sigma_range(model%ptr, c_loc(sigma_min_c), c_loc(sigma_max_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      sigma_min = sigma_min_c
      sigma_max = sigma_max_c
   end subroutine

   subroutine dgmf_model_name(model, name, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      character(len=:), allocatable, intent(out) :: name  !! the model's name from its metadata
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: name_c
      name_c = c_null_ptr
      call finish(c_model_name(model%ptr, name_c), stat)
      if (present(errmsg)) call message(errmsg, stat)
      name = f_string(name_c)
   end subroutine

   subroutine dgmf_model_provider(model, provider, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      character(len=:), allocatable, intent(out) :: provider  !! the execution provider the sessions run on, e.g. "cpu"
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: provider_c
      provider_c = c_null_ptr
      call finish(c_model_provider(model%ptr, provider_c), stat)
      if (present(errmsg)) call message(errmsg, stat)
      provider = f_string(provider_c)
   end subroutine

   subroutine dgmf_model_precision(model, precision, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      character(len=:), allocatable, intent(out) :: precision  !! "fp32", "fp16" or "int8": the network's arithmetic
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: precision_c
      precision_c = c_null_ptr
      call finish(c_model_precision(model%ptr, precision_c), stat)
      if (present(errmsg)) call message(errmsg, stat)
      precision = f_string(precision_c)
   end subroutine

   !> Predicts n queries: params(P, n), fidelity(n) (0-based level as a whole number, or the continuous
   !> value), coords(Q, n) if the model has coordinates; mean and std are contiguous arrays of any rank
   !> holding n * sample_len values, e.g. mean(W, H, C, n) for fields [C, H, W].
   subroutine dgmf_predict_batch(model, config, params, fidelity, mean, std, coords, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      type(dgmf_config_t), intent(in) :: config  !! the sampler configuration
      real(c_double), intent(in), target, contiguous :: params(:, :)  !! params(P, n): one column per query
      real(c_double), intent(in), target, contiguous :: fidelity(:)  !! fidelity(n): 0-based level, or the continuous value
      !! mean: receives the ensemble mean: n * sample_len values, e.g. mean(W, H, C, n)
      real(c_float), intent(inout), target, contiguous :: mean(..)
      !! std: receives the ensemble std, shaped like mean (needs samples >= 2)
      real(c_float), intent(inout), target, contiguous, optional :: std(..)
      real(c_double), intent(in), target, contiguous, optional :: coords(:, :)  !! coords(Q, n) if the model has coordinates
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: c, s
      integer(c_size_t) :: s_len
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      why = batch_check(model, params, fidelity, c, coords)
      call optional_buffer(s, s_len, std)
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_predict_batch(model%ptr, config%ptr, size(fidelity, kind=c_size_t), c_loc(params), &
            c_loc(fidelity), c, c_loc(mean), size(mean, kind=c_size_t), s, s_len)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Predicts one query: params(P), a fidelity value, coords(Q) if any; mean/std hold sample_len values.
   subroutine dgmf_predict(model, config, params, fidelity, mean, std, coords, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      type(dgmf_config_t), intent(in) :: config  !! the sampler configuration
      real(c_double), intent(in), target, contiguous :: params(:)  !! params(P) of the query
      real(c_double), intent(in) :: fidelity  !! 0-based level, or the continuous value
      !! mean: receives the ensemble mean: sample_len values, e.g. mean(W, H, C)
      real(c_float), intent(inout), target, contiguous :: mean(..)
      !! std: receives the ensemble std, shaped like mean (needs samples >= 2)
      real(c_float), intent(inout), target, contiguous, optional :: std(..)
      real(c_double), intent(in), target, contiguous, optional :: coords(:)  !! coords(Q) if the model has coordinates
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: c, s
      integer(c_size_t) :: s_len
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      c = c_null_ptr
      if (present(coords)) then
         if (size(coords) > 0) c = c_loc(coords)
         why = sizes_check(model, size(params), size(coords))
      else
         why = sizes_check(model, size(params), 0)
      end if
      call optional_buffer(s, s_len, std)
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_predict(model%ptr, config%ptr, c_loc(params), fidelity, c, c_loc(mean), &
            size(mean, kind=c_size_t), s, s_len)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Predicts samples first_sample .. first_sample + count - 1 of the config's S-sample ensemble (S from
   !> dgmf_config_set_samples) for n queries laid out as in dgmf_predict_batch, and returns their statistics.
   !> With max_batch 1 every sample equals the serial run's bit for bit, so parts of 0 .. S-1 merged give
   !> dgmf_predict_batch's result to within the merge's rounding (with batches: ~1e-5 relative, since ONNX
   !> Runtime rounds a row with the number of rows in its call). Needs count >= 1 and first_sample + count <= S.
   subroutine dgmf_predict_moments(model, config, params, fidelity, first_sample, count, moments, coords, stat, &
         errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      type(dgmf_config_t), intent(in) :: config  !! the sampler configuration (its sample count is S)
      real(c_double), intent(in), target, contiguous :: params(:, :)  !! params(P, n): one column per query
      real(c_double), intent(in), target, contiguous :: fidelity(:)  !! fidelity(n): 0-based level, or the continuous value
      integer, intent(in) :: first_sample  !! 0-based first sample of the range, as the noise streams number them
      integer, intent(in) :: count  !! samples in the range (>= 1)
      type(dgmf_moments_t), intent(inout) :: moments  !! receives the range's statistics (statistics it held are freed first)
      real(c_double), intent(in), target, contiguous, optional :: coords(:, :)  !! coords(Q, n) if the model has coordinates
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: c
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      call dgmf_moments_destroy(moments)
      why = batch_check(model, params, fidelity, c, coords)
      ! C takes unsigned numbers: a negative one would silently become a huge one.
      if (why == "" .and. (first_sample < 0 .or. count < 0)) why = "first_sample and count must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_predict_moments(model%ptr, config%ptr, size(fidelity, kind=c_size_t), c_loc(params), &
            c_loc(fidelity), c, int(first_sample, c_size_t), int(count, c_size_t), moments%ptr)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> One number per query for a fallback policy: rms(i) = the RMS over query i's field of std (as
   !> dgmf_predict_batch wrote it: calibrated when the model carries dgmf.std_scale), in physical units.
   subroutine dgmf_std_rms(model, std, rms, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      !! std: the std fields of n queries, n * sample_len values, e.g. std(W, H, C, n)
      real(c_float), intent(in), target, contiguous :: std(..)
      real(c_double), intent(inout), target, contiguous :: rms(:)  !! receives rms(n), n = size(rms) queries
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      ! Both lengths go to C, which checks std against size(rms) * sample_len.
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_std_rms(model%ptr, size(rms, kind=c_size_t), c_loc(std), size(std, kind=c_size_t), &
            c_loc(rms), size(rms, kind=c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Doubles of the packed layout for n_queries queries of this model: n_queries * (1 + 2 * sample_len).
   subroutine dgmf_moments_packed_len(model, n_queries, len, stat, errmsg)
      class(dgmf_model_t), intent(in) :: model  !! the model handle
      integer, intent(in) :: n_queries  !! number of queries
      integer, intent(out) :: len  !! length of the packed buffer in doubles
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: len_c
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      len_c = 0
      if (n_queries < 0) why = "dgmf_moments_packed_len: n_queries must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_moments_packed_len(model%ptr, int(n_queries, c_size_t), c_loc(len_c))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
      len = int(len_c)
   end subroutine

   ! ---- config ----------------------------------------------------------------------------------------------

   subroutine dgmf_config_destroy(config)
      class(dgmf_config_t), intent(inout) :: config  !! freed; a null handle is a no-op
      call c_config_destroy(config%ptr)
      config%ptr = c_null_ptr
   end subroutine

   subroutine config_final(config)
      type(dgmf_config_t), intent(inout) :: config
      call dgmf_config_destroy(config)
   end subroutine

   !> A configuration for `sampler` with its defaults ("heun", "pc", "edm", ... see include/dgmf.h); without
   !> `sampler`, the library's default (ancestral with DGMF_DEFAULT_STEPS levels), as dgmf_config_create(NULL, ...).
   subroutine dgmf_config_create(config, sampler, stat, errmsg)
      class(dgmf_config_t), intent(inout) :: config  !! receives a new configuration (one it held is freed first)
      character(len=*), intent(in), optional :: sampler  !! sampler name (absent or "": the library default); docs/samplers.md
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      character(kind=c_char), allocatable, target :: sampler_c(:)
      type(c_ptr) :: sampler_p
      call dgmf_config_destroy(config)
      call to_c_or_null(sampler_c, sampler_p, sampler)
      call finish(c_config_create(sampler_p, config%ptr), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> A configuration with `model`'s recommended sampler (its dgmf.sampler, the one its std calibration was
   !> fitted with), else the library default; as dgmf_config_create_for_model in C.
   subroutine dgmf_config_create_for_model(config, model, stat, errmsg)
      class(dgmf_config_t), intent(inout) :: config  !! receives a new configuration (one it held is freed first)
      type(dgmf_model_t), intent(in) :: model  !! the model whose recommendation to take
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call dgmf_config_destroy(config)
      call finish(c_config_create_for_model(model%ptr, config%ptr), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_config_set_steps(config, steps, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer, intent(in) :: steps  !! noise levels N, 2 <= N <= DGMF_MAX_STEPS
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (steps < 0) why = "dgmf_config_set_steps: steps must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_config_set_steps(config%ptr, int(steps, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   subroutine dgmf_config_set_schedule(config, schedule, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      character(len=*), intent(in) :: schedule  !! "geometric" or "karras" (rho 7)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      character(kind=c_char), allocatable, target :: schedule_c(:)
      call to_c(schedule, schedule_c)
      call finish(c_config_set_schedule(config%ptr, c_loc(schedule_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_config_set_corrector(config, snr, steps, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      real, intent(in) :: snr  !! Langevin signal-to-noise ratio (> 0)
      integer, intent(in) :: steps  !! corrector steps per level (<= DGMF_MAX_CORRECTOR_STEPS)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (steps < 0) why = "dgmf_config_set_corrector: steps must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_config_set_corrector(config%ptr, real(snr, c_float), int(steps, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> The EDM sampler's stochasticity (Karras et al. 2022, Algorithm 2).
   subroutine dgmf_config_set_churn(config, s_churn, s_min, s_max, s_noise, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      real, intent(in) :: s_churn  !! total churn (0: deterministic)
      real, intent(in) :: s_min  !! least sigma that churns
      real, intent(in) :: s_max  !! greatest sigma that churns
      real, intent(in) :: s_noise  !! scale of the added noise
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_churn(config%ptr, real(s_churn, c_float), real(s_min, c_float), real(s_max, c_float), &
            real(s_noise, c_float)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> The consistency sampler's last noise level (default: the model's sigma_min).
   subroutine dgmf_config_set_sigma_last(config, sigma, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      real, intent(in) :: sigma  !! a noise level inside the model's [sigma_min, sigma_max]
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_sigma_last(config%ptr, real(sigma, c_float)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_config_set_denoise(config, denoise, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      logical, intent(in) :: denoise  !! .true.: final denoising step to sigma = 0 (the default)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_denoise(config%ptr, merge(1_c_int32_t, 0_c_int32_t, denoise)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_config_set_samples(config, samples, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer, intent(in) :: samples  !! ensemble size per query (>= 1; >= 2 for a std)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (samples < 0) why = "dgmf_config_set_samples: samples must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_config_set_samples(config%ptr, int(samples, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   subroutine dgmf_config_set_seed(config, seed, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer(c_int64_t), intent(in) :: seed  !! noise seed: sample j draws from stream (seed, j)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_seed(config%ptr, int(seed, c_int64_t)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> Numbers the queries of the next predictions from `first_query` (0-based; default 0): query i of a call
   !> draws the noise of query first_query + i. A sweep split across calls or MPI ranks sets each part's offset
   !> in the whole sweep and gets, bit for bit, the samples of one call over the whole sweep (with max_batch 1:
   !> ONNX Runtime rounds a row with the number of rows sharing its call).
   subroutine dgmf_config_set_first_query(config, first_query, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer(c_int64_t), intent(in) :: first_query  !! 0-based offset of the first query in the whole sweep (>= 0)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (first_query < 0) why = "dgmf_config_set_first_query: first_query must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_config_set_first_query(config%ptr, int(first_query, c_int64_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   subroutine dgmf_config_set_max_batch(config, max_batch, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer, intent(in) :: max_batch  !! most rows (query x sample) per network call (>= 1)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (max_batch < 0) why = "dgmf_config_set_max_batch: max_batch must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_config_set_max_batch(config%ptr, int(max_batch, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   subroutine dgmf_config_set_extrapolation(config, allow, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      logical, intent(in) :: allow  !! .true.: accept inputs outside the declared ranges
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_extrapolation(config%ptr, merge(1_c_int32_t, 0_c_int32_t, allow)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> Most bytes a prediction's buffers may take (default DGMF_DEFAULT_MEMORY_LIMIT, 4 GiB).
   subroutine dgmf_config_set_memory_limit(config, bytes, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer(c_int64_t), intent(in) :: bytes  !! most bytes a prediction's buffers may take
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      if (bytes < 0) why = "dgmf_config_set_memory_limit: bytes must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_config_set_memory_limit(config%ptr, int(bytes, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Time limit of a prediction in seconds (0: none); a prediction still running then stops with
   !> DGMF_ERR_CANCELLED, also inside a network evaluation.
   subroutine dgmf_config_set_time_limit(config, seconds, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      real(c_double), intent(in) :: seconds  !! wall-clock limit of a prediction (0: none, the default)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_time_limit(config%ptr, seconds), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> Progress callback: c_funloc of a bind(C) function
   !>   integer(c_int32_t) function f(done, total, user) bind(C); integer(c_size_t), value :: done, total;
   !>   type(c_ptr), value :: user
   !> returning 0 to continue, non-zero to cancel. c_null_funptr removes it.
   subroutine dgmf_config_set_progress(config, callback, user_data, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      type(c_funptr), intent(in) :: callback  !! c_funloc of the bind(C) callback, or c_null_funptr
      type(c_ptr), intent(in) :: user_data  !! passed to the callback unchanged
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_config_set_progress(config%ptr, callback, user_data), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_config_nfe(config, nfe, stat, errmsg)
      class(dgmf_config_t), intent(in) :: config  !! the sampler configuration handle
      integer, intent(out) :: nfe  !! network evaluations per sample with the current settings
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: nfe_c
      nfe_c = 0
      call finish(c_config_nfe(config%ptr, c_loc(nfe_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      nfe = int(nfe_c)
   end subroutine

   ! ---- moments ---------------------------------------------------------------------------------------------

   subroutine dgmf_moments_destroy(moments)
      class(dgmf_moments_t), intent(inout) :: moments  !! freed; a null handle is a no-op
      call c_moments_destroy(moments%ptr)
      moments%ptr = c_null_ptr
   end subroutine

   subroutine moments_final(moments)
      type(dgmf_moments_t), intent(inout) :: moments
      call dgmf_moments_destroy(moments)
   end subroutine

   !> New empty statistics (every count 0) for n_queries queries of this model's samples: the identity of
   !> dgmf_moments_merge, e.g. the start of a reduction.
   subroutine dgmf_moments_create(moments, model, n_queries, stat, errmsg)
      class(dgmf_moments_t), intent(inout) :: moments  !! receives the statistics (statistics it held are freed first)
      type(dgmf_model_t), intent(in) :: model  !! the model whose sample shape the statistics take
      integer, intent(in) :: n_queries  !! number of queries
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      call dgmf_moments_destroy(moments)
      if (n_queries < 0) why = "dgmf_moments_create: n_queries must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_moments_create(model%ptr, int(n_queries, c_size_t), moments%ptr)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Folds `other` (other samples of the same queries) into `into`; a fixed order gives the same bits every
   !> run. `into` and `other` may be the same handle (the ensemble then counts twice).
   subroutine dgmf_moments_merge(into, other, stat, errmsg)
      class(dgmf_moments_t), intent(in) :: into  !! the statistics merged into
      type(dgmf_moments_t), intent(in) :: other  !! the statistics merged in (unchanged)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_moments_merge(into%ptr, other%ptr), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   subroutine dgmf_moments_num_queries(moments, n_queries, stat, errmsg)
      class(dgmf_moments_t), intent(in) :: moments  !! the statistics handle
      integer, intent(out) :: n_queries  !! number of queries the statistics hold
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_size_t), target :: n_queries_c
      n_queries_c = 0
      call finish(c_moments_num_queries(moments%ptr, c_loc(n_queries_c)), stat)
      if (present(errmsg)) call message(errmsg, stat)
      n_queries = int(n_queries_c)
   end subroutine

   !> Samples merged so far into query `query` (1-based, the column of params(P, n)).
   subroutine dgmf_moments_count(moments, query, count, stat, errmsg)
      class(dgmf_moments_t), intent(in) :: moments  !! the statistics handle
      integer, intent(in) :: query  !! 1-based query index
      integer(c_int64_t), intent(out) :: count  !! samples merged into that query
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int64_t), target :: count_c
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      count_c = 0
      if (query < 1) why = "dgmf_moments_count: query is 1-based: it must be >= 1"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_moments_count(moments%ptr, int(query - 1, c_size_t), c_loc(count_c))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
      count = int(count_c, c_int64_t)
   end subroutine

   !> The mean (and std) fields of merged statistics, laid out and scaled as dgmf_predict_batch writes them.
   !> Every query needs >= 1 sample, >= 2 for the std.
   subroutine dgmf_moments_finish(moments, model, fidelity, mean, std, stat, errmsg)
      class(dgmf_moments_t), intent(in) :: moments  !! the merged statistics of n queries
      type(dgmf_model_t), intent(in) :: model  !! the model the statistics come from
      !! fidelity: fidelity(n) of the n queries (the calibration's std scale can depend on the level)
      real(c_double), intent(in), target, contiguous :: fidelity(:)
      !! mean: receives the ensemble mean: n * sample_len values, e.g. mean(W, H, C, n)
      real(c_float), intent(inout), target, contiguous :: mean(..)
      !! std: receives the ensemble std, shaped like mean (needs 2 samples or more per query)
      real(c_float), intent(inout), target, contiguous, optional :: std(..)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      type(c_ptr) :: s
      integer(c_size_t) :: s_len
      integer :: n, ns
      character(len=100) :: text
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      ! C reads n fidelities without a length: check fidelity(n) here.
      call dgmf_moments_num_queries(moments, n, ns)
      if (ns == DGMF_OK .and. size(fidelity) /= n) then
         write (text, '(a, i0, a, i0, a)') "fidelity has ", size(fidelity), " values but the moments hold ", n, &
               " queries"
         why = trim(text)
      end if
      call optional_buffer(s, s_len, std)
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_moments_finish(model%ptr, moments%ptr, c_loc(fidelity), c_loc(mean), &
            size(mean, kind=c_size_t), s, s_len)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Writes the statistics to buf as one record per query, [count, mean(sample_len), M2(sample_len)], for
   !> sending in one message.
   subroutine dgmf_moments_pack(moments, buf, stat, errmsg)
      class(dgmf_moments_t), intent(in) :: moments  !! the statistics handle
      !! buf: receives the packed records: at least dgmf_moments_packed_len doubles
      real(c_double), intent(inout), target, contiguous :: buf(:)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      call finish(c_moments_pack(moments%ptr, address(buf), size(buf, kind=c_size_t)), stat)
      if (present(errmsg)) call message(errmsg, stat)
   end subroutine

   !> New statistics of n_queries queries of this model from packed records (exactly dgmf_moments_packed_len
   !> doubles). Counts must be whole numbers, means finite, M2 >= 0.
   subroutine dgmf_moments_unpack(moments, model, n_queries, buf, stat, errmsg)
      class(dgmf_moments_t), intent(inout) :: moments  !! receives the statistics (statistics it held are freed first)
      type(dgmf_model_t), intent(in) :: model  !! the model whose sample shape the records have
      integer, intent(in) :: n_queries  !! number of queries (records) in buf
      real(c_double), intent(in), target, contiguous :: buf(:)  !! the packed records
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      call dgmf_moments_destroy(moments)
      if (n_queries < 0) why = "dgmf_moments_unpack: n_queries must be >= 0"
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_moments_unpack(model%ptr, int(n_queries, c_size_t), address(buf), &
            size(buf, kind=c_size_t), moments%ptr)
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   !> Merges packed records in place, inout <- inout (+) in, with the arithmetic of dgmf_moments_merge (a reduction
   !> over packed buffers equals merging objects in the same order, bit for bit). Needs no model, so an MPI user
   !> op can call it: with a datatype of one record, n_queries is the op's `len`. Thread-safe.
   subroutine dgmf_moments_merge_packed(in, inout, n_queries, sample_len, stat, errmsg)
      real(c_double), intent(in), target, contiguous :: in(:)  !! n_queries packed records merged in
      real(c_double), intent(inout), target, contiguous :: inout(:)  !! n_queries packed records merged into
      integer, intent(in) :: n_queries  !! number of records in each buffer
      integer, intent(in) :: sample_len  !! values per sample of the model (dgmf_model_sample_len)
      !! stat: status (DGMF_OK = 0 on success); absent: a failure stops the program with the message
      integer, intent(out), optional :: stat
      character(len=:), allocatable, intent(out), optional :: errmsg  !! the library's message on failure, "" on success
      integer(c_int64_t) :: need
      character(len=120) :: text
      integer(c_int) :: status
      character(len=:), allocatable :: why
      why = ""
      ! C reads n_queries records from each pointer without a length: check both extents here.
      need = int(n_queries, c_int64_t)*(1 + 2*int(sample_len, c_int64_t))
      if (n_queries < 0 .or. sample_len < 0) then
         why = "n_queries and sample_len must be >= 0"
      else if (size(in, kind=c_int64_t) < need .or. size(inout, kind=c_int64_t) < need) then
         write (text, '(a, i0, a, i0, a, i0)') "in and inout need n_queries * (1 + 2 * sample_len) = ", need, &
            " doubles each; they hold ", size(in, kind=c_int64_t), " and ", size(inout, kind=c_int64_t)
         why = trim(text)
      end if
      status = DGMF_ERR_INVALID_ARGUMENT
      if (why == "") status = c_moments_merge_packed(address(in), address(inout), int(n_queries, c_size_t), &
            int(sample_len, c_size_t))
      call finish(status, stat, why)
      if (present(errmsg)) call message(errmsg, stat, why)
   end subroutine

   ! ---- opt-in natural order ---------------------------------------------------------------------------

   !> v(i, j) = u(j, i): the [H, W] field read as u(W, H) becomes v(H, W).
   function reverse_dims_2(u) result(v)
      real(c_float), intent(in) :: u(:, :)
      real(c_float) :: v(size(u, 2), size(u, 1))
      v = transpose(u)
   end function

   !> v(i, j, k) = u(k, j, i): the [C, H, W] field read as u(W, H, C) becomes v(C, H, W).
   function reverse_dims_3(u) result(v)
      real(c_float), intent(in) :: u(:, :, :)
      real(c_float) :: v(size(u, 3), size(u, 2), size(u, 1))
      v = reshape(u, shape(v), order=[3, 2, 1])
   end function

   !> v(i, j, k, l) = u(l, k, j, i), e.g. a batch u(W, H, C, n) becomes v(n, C, H, W).
   function reverse_dims_4(u) result(v)
      real(c_float), intent(in) :: u(:, :, :, :)
      real(c_float) :: v(size(u, 4), size(u, 3), size(u, 2), size(u, 1))
      v = reshape(u, shape(v), order=[4, 3, 2, 1])
   end function

end module dgmf
