!> One query's ensemble of S samples split across MPI ranks and merged exactly (Fortran twin of ensemble.cpp:
!> same command line, printed lines and output files).
!>
!>   mpirun -np 4 ./ensemble_f MODEL S [--gpus-per-node G] [--print-devices]
!>
!> Rank r computes samples [r*S/R, (r+1)*S/R) with dgmf_predict_moments (sample j draws from the same noise stream
!> whatever rank computes it), packs its statistics, and an MPI_Reduce with a user op that calls
!> dgmf_moments_merge_packed combines them on rank 0. Rank 0 then checks the result against one serial
!> predict_batch of all S samples and writes ensemble_mean.npy / ensemble_std.npy. Exit status 1 when the gap
!> exceeds the bound docs/distributed.md derives (1e-6 relative).
module ensemble_parts
   use, intrinsic :: iso_c_binding
   use, intrinsic :: iso_fortran_env, only: error_unit
   use mpi_f08
   use dgmf
   implicit none
   private
   public :: merge_records, largest_gap

contains

   !> MPI_User_function over packed moment records: inout <- inout (+) in. The record length comes from the
   !> datatype (one record = 1 + 2*sample_len doubles). Errors cannot cross MPI's callback: abort the job.
   subroutine merge_records(invec, inoutvec, len, datatype)
      type(c_ptr), value :: invec, inoutvec
      integer :: len
      type(MPI_Datatype) :: datatype
      real(c_double), pointer, contiguous :: in(:), inout(:)
      character(len=:), allocatable :: msg
      integer :: bytes, record, stat
      call MPI_Type_size(datatype, bytes)
      record = bytes/int(c_sizeof(0d0))
      call c_f_pointer(invec, in, [len*record])
      call c_f_pointer(inoutvec, inout, [len*record])
      call dgmf_moments_merge_packed(in, inout, len, (record - 1)/2, stat, msg)
      if (stat /= DGMF_OK) then
         write (error_unit, '(a, a)') "merging moments failed: ", msg
         call MPI_Abort(MPI_COMM_WORLD, 1)
      end if
   end subroutine

   !> Largest |got - want| / max(|want|, 1e-3).
   real(c_double) function largest_gap(got, want)
      real(c_float), intent(in) :: got(:), want(:)
      largest_gap = 0
      if (size(want) > 0) largest_gap = maxval(abs(real(got, c_double) - want)/max(abs(real(want, c_double)), 1d-3))
   end function

end module

program ensemble
   use, intrinsic :: iso_c_binding
   use, intrinsic :: iso_fortran_env, only: error_unit, output_unit
   use mpi_f08
   use dgmf
   use mpi_common
   use ensemble_parts
   implicit none
   character(len=4096) :: path, arg
   integer :: rank, ranks, s, gpus, i, ios, local, status
   logical :: print_devices
   character(len=:), allocatable :: device

   call MPI_Init()
   call MPI_Comm_rank(MPI_COMM_WORLD, rank)
   call MPI_Comm_size(MPI_COMM_WORLD, ranks)
   s = 0
   if (command_argument_count() >= 2) then
      call get_command_argument(1, path)
      call get_command_argument(2, arg)
      read (arg, *, iostat=ios) s
      if (ios /= 0) s = 0
   end if
   gpus = 0
   print_devices = .false.
   i = 3
   do while (i <= command_argument_count())
      call get_command_argument(i, arg)
      if (arg == "--gpus-per-node" .and. i < command_argument_count()) then
         i = i + 1
         call get_command_argument(i, arg)
         read (arg, *, iostat=ios) gpus
      else if (arg == "--print-devices") then
         print_devices = .true.
      end if
      i = i + 1
   end do
   if (s < 1) then
      if (rank == 0) write (error_unit, '(a)') "usage: ensemble_f MODEL S [--gpus-per-node G] [--print-devices]"
      call MPI_Finalize()
      stop 2, quiet=.true.
   end if
   local = local_rank(MPI_COMM_WORLD)
   device = device_for(local, gpus)

   status = 0
   if (print_devices) then
      call show_devices()
   else
      call run(status)
   end if
   call MPI_Finalize()
   if (status /= 0) stop status, quiet=.true.

contains

   !> The rank -> device mapping alone, in rank order (CI checks it without a GPU).
   subroutine show_devices()
      integer :: r
      do r = 0, ranks - 1
         if (r == rank) print '(a, i0, a, i0, a, a)', "rank ", rank, " (local ", local, "): ", device
         flush (output_unit)
         call MPI_Barrier(MPI_COMM_WORLD)
      end do
   end subroutine

   subroutine run(status)
      integer, intent(out) :: status  !! 0, or 1 on rank 0 when the gap to the serial run exceeds the bound
      type(dgmf_options_t) :: opts
      type(dgmf_model_t) :: model
      type(dgmf_config_t) :: config
      type(dgmf_moments_t) :: part
      type(MPI_Datatype) :: record
      type(MPI_Op) :: op
      real(c_double), allocatable :: params(:, :), fidelity(:), coords(:, :), mine(:), merged(:)
      real(c_double) :: t0, seconds, slowest
      integer :: lo, hi, plen

      status = 0
      call opts%create()
      call opts%set_threads(1) ! one intra-op thread per rank: the ranks are the parallelism
      call opts%set_provider(device, .false.)
      call load_shared(trim(path), MPI_COMM_WORLD, opts, model)
      call config%create_for_model(model)  ! the model's recommended sampler
      call config%set_samples(s)
      call config%set_seed(1_c_int64_t)
      ! ONNX Runtime's GEMM kernels round a row differently depending on how many rows share the call, so a
      ! sample is the serial run's bit for bit, whatever the split, only when every call has one row. A CPU
      ! rank with one intra-op thread loses nothing by it (docs/distributed.md); a GPU needs its batches.
      if (gpus == 0) call config%set_max_batch(1)
      call middle_query(model, params, fidelity, coords)

      call MPI_Barrier(MPI_COMM_WORLD)
      t0 = MPI_Wtime()
      lo = int(int(rank, c_int64_t)*s/ranks)
      hi = int(int(rank + 1, c_int64_t)*s/ranks)
      if (hi > lo) then
         call model%predict_moments(config, params, fidelity, lo, hi - lo, part, coords)
      else
         call part%create(model, 1) ! more ranks than samples: an empty part
      end if
      call model%moments_packed_len(1, plen)
      allocate (mine(plen), merged(plen))
      call part%pack(mine)
      call MPI_Type_contiguous(plen, MPI_DOUBLE_PRECISION, record)
      call MPI_Type_commit(record)
      ! Not commutative in its rounding: MPI then combines the parts in a fixed order, the same bits every run.
      call MPI_Op_create(merge_records, .false., op)
      call MPI_Reduce(mine, merged, 1, record, op, 0, MPI_COMM_WORLD)
      call MPI_Op_free(op)
      call MPI_Type_free(record)
      seconds = MPI_Wtime() - t0
      call MPI_Reduce(seconds, slowest, 1, MPI_DOUBLE_PRECISION, MPI_MAX, 0, MPI_COMM_WORLD)
      if (rank == 0) call report(model, config, params, fidelity, coords, merged, slowest, status)
   end subroutine

   !> Rank 0: finish the merged statistics, compare them with one serial run, print, write the .npy files.
   subroutine report(model, config, params, fidelity, coords, merged, slowest, status)
      type(dgmf_model_t), intent(in) :: model
      type(dgmf_config_t), intent(in) :: config
      real(c_double), intent(in) :: params(:, :), fidelity(:), coords(:, :), merged(:), slowest
      integer, intent(out) :: status
      type(dgmf_moments_t) :: total
      real(c_float), allocatable :: mean(:), std(:), serial_mean(:), serial_std(:)
      real(c_double) :: gm, gs, bound
      integer, allocatable :: dims(:)
      integer :: n
      logical :: with_std

      with_std = s >= 2 ! the std needs two samples
      call model%sample_len(n)
      allocate (mean(n), serial_mean(n), std(merge(n, 0, with_std)), serial_std(merge(n, 0, with_std)))
      call total%unpack(model, 1, merged)
      if (with_std) then
         call total%finish(model, fidelity, mean, std)
      else
         call total%finish(model, fidelity, mean)
      end if
      print '(a)', "ensemble: "//str(s)//" samples of 1 query over "//str(ranks)//" ranks in "//fixed(slowest, 3)// &
         " s ("//fixed(s/slowest, 1)//" samples/s)"
      if (with_std) then
         call model%predict_batch(config, params, fidelity, serial_mean, serial_std, coords)
      else
         call model%predict_batch(config, params, fidelity, serial_mean, coords=coords)
      end if
      gm = largest_gap(mean, serial_mean)
      gs = largest_gap(std, serial_std)
      bound = merge(1d-6, 1d-4, gpus == 0) ! 1e-4 with GPUs: batched calls round rows differently
      print '(a)', "largest relative gap to the serial run: mean "//sci(gm)//", std "//sci(gs)//" (bound "// &
         sci(bound)//")"
      call model%shape(dims)
      call write_npy("ensemble_mean.npy", dims, mean)
      if (with_std) call write_npy("ensemble_std.npy", dims, std)
      status = merge(0, 1, gm <= bound .and. gs <= bound)
   end subroutine

end program
