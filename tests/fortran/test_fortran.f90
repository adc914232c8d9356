!> The Fortran module: every procedure, misuse through stat/errmsg, finalization, and the reversed-dimension
!> array convention. Usage: test_fortran MODELS_DIR
module progress_mod
   use, intrinsic :: iso_c_binding
   implicit none
   integer(c_size_t) :: seen = 0
contains
   integer(c_int32_t) function stop_after_two(done, total, user) bind(C)
      integer(c_size_t), value :: done, total
      type(c_ptr), value :: user
      seen = done
      stop_after_two = merge(1_c_int32_t, 0_c_int32_t, done >= 2)
   end function
end module

program test_fortran
   use, intrinsic :: iso_c_binding
   use dgmf
   use progress_mod
   implicit none
   character(len=4096) :: dir
   type(dgmf_options_t) :: opts
   type(dgmf_model_t) :: model, bad
   type(dgmf_config_t) :: cfg
   integer :: stat, rank, n, p, q, kind, levels, nfe, members, checks = 0, failures = 0
   integer, allocatable :: dims(:)
   character(len=:), allocatable :: msg, name
   real(c_double) :: lo, hi
   real(c_float) :: mean(4, 3, 2), sd(4, 3, 2), flat(24), batch(4, 3, 2, 2), small(10)
   real(c_double) :: rms(1)
   real(c_float), allocatable :: natural(:, :, :)
   real(c_double) :: params(2) = [0.3d0, -0.6d0], bparams(2, 2)

   call get_command_argument(1, dir)

   call check(dgmf_version() /= "", "version")
   call dgmf_options_create(opts)
   call dgmf_options_set_threads(opts, 1)
   call dgmf_options_set_max_sessions(opts, 2)
   call dgmf_options_set_optimization(opts, 3)
   call dgmf_options_set_provider(opts, "quantum", .false., stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "unknown execution provider")
   call dgmf_options_set_tensorrt(opts, .true., "", stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "tensorrt")
   call dgmf_options_set_provider(opts, "cpu", .false.)

   ! Misuse: a failed load leaves an empty handle, and using it is an error, not a crash.
   call dgmf_model_load(bad, trim(dir)//"/bad/sigma_range.onnx", opts, stat, msg)
   call expect(DGMF_ERR_CONTRACT, "sigma_min < sigma_max")
   call dgmf_model_load(bad, trim(dir)//"/missing.onnx", stat=stat, errmsg=msg)
   call expect(DGMF_ERR_MODEL_LOAD, "cannot read model file")
   call dgmf_model_sample_len(bad, n, stat, msg)
   call expect(DGMF_ERR_NULL_ARGUMENT, "did dgmf_model_load fail?")

   call dgmf_model_load(model, trim(dir)//"/analytic_score.onnx", opts)
   call dgmf_model_rank(model, rank)
   call dgmf_model_shape(model, dims)
   call check(rank == 3 .and. all(dims == [2, 3, 4]), "shape [2, 3, 4] in C order")
   call dgmf_model_sample_len(model, n)
   call dgmf_model_num_params(model, p)
   call dgmf_model_num_coords(model, q)
   call check(n == 24 .and. p == 2 .and. q == 0, "sizes")
   call dgmf_model_param(model, 2, name, lo, hi)
   call check(name == "b" .and. lo == -1d0 .and. hi == 1d0, "param 2 is b in [-1, 1]")
   call dgmf_model_param(model, 3, name, lo, hi, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "parameter index 2")
   call dgmf_model_coord(model, 1, name, lo, hi, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "coordinate index 0")
   ! Unsigned in C: refused by the module, naming the argument, before C could read a huge number.
   call dgmf_model_param(model, 0, name, lo, hi, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "dgmf_model_param: index is 1-based")
   call dgmf_model_fidelity(model, kind, levels, lo, hi)
   call check(kind == DGMF_FIDELITY_DISCRETE .and. levels == 3, "fidelity")
   call dgmf_model_fidelity_label(model, 0, name)
   call check(name == "coarse", "label 0")
   call dgmf_model_sigma_range(model, lo, hi)
   call check(lo == 0.01d0 .and. hi == 10d0, "sigma range")
   call dgmf_model_name(model, name)
   call check(name == "analytic_score", "name")
   call dgmf_model_provider(model, name)
   call check(name == "cpu", "provider")
   call dgmf_model_members(model, members)
   call check(members == 1, "one network")
   call dgmf_model_precision(model, name)
   call check(name == "fp32", "precision")
   call dgmf_config_create_for_model(cfg, model)
   call dgmf_config_nfe(cfg, nfe)
   call check(nfe == DGMF_DEFAULT_STEPS, "no recommendation: the library default")
   call dgmf_config_create_for_model(cfg, bad, stat, msg)
   call expect(DGMF_ERR_NULL_ARGUMENT, "`model` is NULL")
   call dgmf_model_load(bad, trim(dir)//"/analytic_recommends.onnx", opts)
   call dgmf_config_create_for_model(cfg, bad)
   call dgmf_config_nfe(cfg, nfe)
   call check(nfe == 7, "the model's recommendation: heun with 4 levels")
   call dgmf_model_destroy(bad)

   call dgmf_config_create(cfg, "dpmpp", stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "unknown sampler `dpmpp`")
   call dgmf_config_create(cfg)
   call dgmf_config_nfe(cfg, nfe)
   call check(nfe == DGMF_DEFAULT_STEPS, "no sampler: the library default, ancestral with 30 levels")
   call dgmf_config_create(cfg, "heun")
   call dgmf_config_nfe(cfg, nfe)
   call check(nfe == 35, "heun nfe 35")
   call dgmf_config_set_steps(cfg, 12)
   call dgmf_config_set_schedule(cfg, "karras")
   call dgmf_config_set_corrector(cfg, 0.16, 1)
   call dgmf_config_set_churn(cfg, 40.0, 0.05, 50.0, 1.003)
   call dgmf_config_set_sigma_last(cfg, 0.5)
   call dgmf_config_set_denoise(cfg, .true.)
   call dgmf_config_set_samples(cfg, 64)
   call dgmf_config_set_seed(cfg, 7_c_int64_t)
   call dgmf_config_set_max_batch(cfg, 32)
   call dgmf_config_set_extrapolation(cfg, .false.)
   call dgmf_config_set_memory_limit(cfg, 1000_c_int64_t)
   call dgmf_predict(model, cfg, params, 2d0, mean, stat=stat, errmsg=msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "memory limit")
   call dgmf_config_set_memory_limit(cfg, DGMF_DEFAULT_MEMORY_LIMIT)
   call dgmf_config_set_steps(cfg, -1, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "dgmf_config_set_steps: steps must be >= 0")
   call dgmf_config_set_memory_limit(cfg, -1_c_int64_t, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "bytes must be >= 0")
   call dgmf_config_set_steps(cfg, 1, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "2 to 100000")
   call dgmf_config_set_steps(cfg, DGMF_MAX_STEPS + 1, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "2 to 100000")
   call dgmf_config_set_corrector(cfg, 0.16, DGMF_MAX_CORRECTOR_STEPS + 1, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "at most 100 Langevin")
   call dgmf_config_set_time_limit(cfg, -1d0, stat, msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "time limit")
   call dgmf_config_set_time_limit(cfg, 0d0)

   ! The C field [2, 3, 4] is the Fortran array mean(4, 3, 2), no copy. The data have std s = 0.5 and the
   ! model's data_scale is (2, 0.5) per channel, so channel 1 has std 1 and channel 2 std 0.25.
   call dgmf_predict(model, cfg, params, 2d0, mean, sd)
   call check(abs(sum(sd(:, :, 1))/12 - 1.0) < 0.2, "channel 1 std ~ 1 (reversed dims)")
   call check(abs(sum(sd(:, :, 2))/12 - 0.25) < 0.05, "channel 2 std ~ 0.25 (reversed dims)")
   call dgmf_std_rms(model, sd, rms)
   call check(abs(rms(1) - sqrt(sum(real(sd, c_double)**2)/24)) < 1d-12*rms(1), "std rms of the one query")
   call dgmf_predict(model, cfg, params, 2d0, flat)
   call check(all(reshape(flat, [4, 3, 2]) == mean), "any rank, same memory")
   natural = dgmf_reverse_dims(mean)
   call check(all(shape(natural) == [2, 3, 4]) .and. natural(2, 3, 4) == mean(4, 3, 2) .and. &
              natural(1, 2, 3) == mean(3, 2, 1), "reverse_dims gives natural order")

   bparams(:, 1) = params
   bparams(:, 2) = [0.9d0, 0.9d0]
   call dgmf_predict_batch(model, cfg, bparams, [2d0, 0d0], batch)
   call check(all(batch(:, :, :, 1) == mean), "batch query 1 equals the single call")

   ! The type-bound procedures are the same procedures: same model, same settings, same numbers.
   block
      type(dgmf_model_t) :: m2
      type(dgmf_config_t) :: c2
      real(c_float) :: mean2(4, 3, 2), sd2(4, 3, 2)
      integer :: n2, nfe2
      call m2%load(trim(dir)//"/analytic_score.onnx", opts)
      call m2%sample_len(n2)
      call m2%name(name)
      call check(n2 == 24 .and. name == "analytic_score", "model%sample_len, model%name")
      call m2%param(3, name, lo, hi, stat, msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "parameter index 2")
      call c2%create("heun")
      call c2%set_steps(12)
      call c2%set_schedule("karras")
      call c2%set_corrector(0.16, 1)
      call c2%set_churn(40.0, 0.05, 50.0, 1.003)
      call c2%set_sigma_last(0.5)
      call c2%set_samples(64)
      call c2%set_seed(7_c_int64_t)
      call c2%set_max_batch(32)
      call c2%nfe(nfe2)
      call dgmf_config_nfe(cfg, nfe)
      call check(nfe2 == nfe, "config%nfe")
      call m2%predict(c2, params, 2d0, mean2, sd2)
      call check(all(mean2 == mean) .and. all(sd2 == sd), "model%predict equals dgmf_predict")
      call c2%set_steps(1, stat, msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "2 to 100000")
      call m2%destroy()
      call m2%rank(n2, stat, msg)
      call expect(DGMF_ERR_NULL_ARGUMENT, "did dgmf_model_load fail?")
   end block

   call dgmf_predict(model, cfg, [0.3d0, 2d0], 2d0, mean, stat=stat, errmsg=msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "outside the model's range")
   call dgmf_predict(model, cfg, params, 5d0, mean, stat=stat, errmsg=msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "fidelity level 5")
   call dgmf_predict(model, cfg, params, 2d0, small, stat=stat, errmsg=msg)
   call expect(DGMF_ERR_BUFFER_TOO_SMALL, "needs 24")
   call dgmf_predict(model, cfg, [0.3d0], 2d0, mean, stat=stat, errmsg=msg)
   call expect(DGMF_ERR_INVALID_ARGUMENT, "1 parameters and 0 coordinates given")

   call dgmf_config_set_progress(cfg, c_funloc(stop_after_two), c_null_ptr)
   call dgmf_predict(model, cfg, params, 2d0, mean, stat=stat, errmsg=msg)
   call expect(DGMF_ERR_CANCELLED, "cancelled")
   call check(seen == 2, "cancelled after two evaluations")
   call dgmf_config_set_progress(cfg, c_null_funptr, c_null_ptr)

   call test_moments()

   call check(dgmf_status_string(DGMF_ERR_CONTRACT) /= "", "status string")
   call dgmf_model_destroy(model)
   call dgmf_model_destroy(model) ! twice is harmless: the handle was reset
   call dgmf_config_destroy(cfg)
   call dgmf_options_destroy(opts)

   print '(i0, a, i0, a)', checks - failures, " passed, ", failures, " failed"
   if (failures > 0) error stop 1

contains

   !> Mergeable ensembles: samples [0, 4) and [4, 9) of 3 queries merged as objects give the serial predict_batch
   !> within 1e-6 relative; packed buffers merged with dgmf_moments_merge_packed give the objects' bits; a sweep
   !> split with set_first_query gets the one-call samples bit for bit.
   subroutine test_moments()
      integer, parameter :: nq = 3, ns = 9, slen = 24
      real(c_double), parameter :: mparams(2, nq) = reshape([0.3d0, 0.6d0, 0.2d0, 0.5d0, 0.9d0, 0.1d0], [2, nq])
      real(c_double), parameter :: mfid(nq) = [2d0, 0d0, 1d0]
      type(dgmf_config_t) :: mc
      type(dgmf_moments_t) :: first, second, total, unpacked
      real(c_float) :: smean(4, 3, 2, nq), sstd(4, 3, 2, nq), omean(4, 3, 2, nq), ostd(4, 3, 2, nq)
      real(c_float) :: pmean(4, 3, 2, nq), pstd(4, 3, 2, nq), tail(4, 3, 2, nq - 1)
      real(c_double), allocatable :: a(:), b(:), acc(:)
      integer(c_int64_t) :: samples
      integer :: plen, nqueries

      call mc%create()
      call mc%set_samples(ns)
      call mc%set_seed(7_c_int64_t)
      call model%predict_batch(mc, mparams, mfid, smean, sstd)

      call model%predict_moments(mc, mparams, mfid, 0, 4, first)
      call dgmf_predict_moments(model, mc, mparams, mfid, 4, ns - 4, second)
      call total%create(model, nq)
      call total%merge(first)
      call dgmf_moments_merge(total, second)
      call total%num_queries(nqueries)
      call total%count(nq, samples)
      call check(nqueries == nq .and. samples == ns, "moments: 3 queries of 9 samples merged")
      call total%finish(model, mfid, omean, ostd)
      call check(rel_gap(omean, smean) <= 1d-6 .and. rel_gap(ostd, sstd) <= 1d-6, &
                 "moments: [0, 4) + [4, 9) merged equal predict_batch within 1e-6")

      call model%moments_packed_len(nq, plen)
      call check(plen == nq*(1 + 2*slen), "moments: packed_len")
      allocate (a(plen), b(plen), acc(plen))
      acc = 0 ! all-zero records: empty statistics, the identity of the merge
      call first%pack(a)
      call dgmf_moments_pack(second, b)
      call dgmf_moments_merge_packed(a, acc, nq, slen)
      call dgmf_moments_merge_packed(b, acc, nq, slen)
      call unpacked%unpack(model, nq, acc)
      call dgmf_moments_finish(unpacked, model, mfid, pmean, pstd)
      call check(all(pmean == omean) .and. all(pstd == ostd), "moments: packed merge equals object merge, bit for bit")

      ! Queries 2..3 numbered from their offset in the whole sweep get the one-call samples.
      call mc%set_first_query(1_c_int64_t)
      call model%predict_batch(mc, mparams(:, 2:), mfid(2:), tail)
      call check(all(tail == smean(:, :, :, 2:)), "set_first_query: a split sweep gets the one-call samples")
      call dgmf_config_set_first_query(mc, -1_c_int64_t, stat, msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "first_query must be >= 0")
      call mc%set_first_query(0_c_int64_t)

      ! Misuse: each returns its status through stat, with the message.
      call model%predict_moments(mc, mparams, mfid, 0, 0, first, stat=stat, errmsg=msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "non-empty range")
      call model%predict_moments(mc, mparams, mfid, 8, 2, first, stat=stat, errmsg=msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "within 0..9")
      call total%count(nq + 1, samples, stat, msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "query 3 is out of range")
      call total%finish(model, mfid(1:2), omean, stat=stat, errmsg=msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "fidelity has 2 values but the moments hold 3 queries")
      call total%pack(a(2:), stat, msg)
      call expect(DGMF_ERR_BUFFER_TOO_SMALL, "need")
      call dgmf_moments_merge_packed(a, acc(2:), nq, slen, stat, msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "= 147 doubles each")
      call unpacked%unpack(model, nq, acc(2:), stat, msg)
      call expect(DGMF_ERR_INVALID_ARGUMENT, "`len` is")
      call unpacked%num_queries(nqueries, stat, msg)
      call expect(DGMF_ERR_NULL_ARGUMENT, "`moments` is NULL")
      call first%destroy()
      call total%merge(first, stat, msg)
      call expect(DGMF_ERR_NULL_ARGUMENT, "`other` is NULL")
   end subroutine

   !> Largest |a - b| / max(|b|, 1e-3).
   real(c_double) function rel_gap(a, b)
      real(c_float), intent(in) :: a(:, :, :, :), b(:, :, :, :)
      rel_gap = maxval(abs(real(a, c_double) - real(b, c_double))/max(abs(real(b, c_double)), 1d-3))
   end function

   subroutine check(ok, what)
      logical, intent(in) :: ok
      character(len=*), intent(in) :: what
      checks = checks + 1
      if (.not. ok) then
         failures = failures + 1
         print '(a, a)', "FAIL: ", what
      end if
   end subroutine

   subroutine expect(want, text)
      integer, intent(in) :: want
      character(len=*), intent(in) :: text
      call check(stat == want, "status "//dgmf_status_string(stat)//" for: "//text)
      call check(index(msg, text) > 0, "message `"//msg//"` lacks `"//text//"`")
   end subroutine

end program
