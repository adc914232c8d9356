!> A parameter sweep of Q queries scattered over MPI ranks, gathered to rank 0 as one .npy (Fortran twin of
!> sweep.cpp: same command line, printed line and output file).
!>
!>   mpirun -np 4 ./sweep_f MODEL Q S OUT.npy
!>
!> Rank r predicts the contiguous block [r*Q/R, (r+1)*Q/R) of the sweep (S samples each) with set_first_query set
!> to the block's start, so every query draws the noise it would draw in one call over the whole sweep: OUT.npy
!> ([Q, *shape] ensemble means) is the same, bit for bit, on any number of ranks. Parameter k of query i (both
!> 0-based) is min_k + (max_k - min_k) * frac((i + 0.5)/Q + 0.37 k); the fidelity is the model's top one.
module sweep_parts
   use, intrinsic :: iso_c_binding
   use, intrinsic :: iso_fortran_env, only: error_unit
   use mpi_f08
   use dgmf
   implicit none
   private
   public :: sweep_block

contains

   !> Queries lo .. hi-1 (0-based) of a sweep of nq: parameter k at min_k + (max_k - min_k) * frac((i + 0.5)/nq
   !> + 0.37 k), coordinates at the middle of their ranges, the top fidelity.
   subroutine sweep_block(model, nq, lo, hi, params, fidelity, coords)
      type(dgmf_model_t), intent(in) :: model
      integer, intent(in) :: nq, lo, hi
      !! params(P, hi - lo), fidelity(hi - lo), coords(Q, hi - lo): the block's queries
      real(c_double), allocatable, intent(out) :: params(:, :), fidelity(:), coords(:, :)
      character(len=:), allocatable :: name
      real(c_double) :: pmin, pmax, t
      integer :: i, k, p, q, kind, levels
      call model%num_params(p)
      call model%num_coords(q)
      allocate (params(p, hi - lo), fidelity(hi - lo), coords(q, hi - lo))
      do k = 1, p
         call model%param(k, name, pmin, pmax)
         do i = lo, hi - 1
            t = (i + 0.5d0)/nq + 0.37d0*(k - 1)
            params(k, i - lo + 1) = pmin + (pmax - pmin)*(t - floor(t)) ! t >= 0 and small: floor fits an integer
         end do
      end do
      do k = 1, q
         call model%coord(k, name, pmin, pmax)
         coords(k, :) = 0.5d0*(pmin + pmax)
      end do
      call model%fidelity(kind, levels, pmin, pmax)
      fidelity = pmax
      if (kind == DGMF_FIDELITY_DISCRETE) fidelity = levels - 1
   end subroutine

end module

program sweep
   use, intrinsic :: iso_c_binding
   use, intrinsic :: iso_fortran_env, only: error_unit
   use mpi_f08
   use dgmf
   use mpi_common
   use sweep_parts
   implicit none
   character(len=4096) :: path, out, arg
   integer :: rank, ranks, nq, s, ios1, ios2

   call MPI_Init()
   call MPI_Comm_rank(MPI_COMM_WORLD, rank)
   call MPI_Comm_size(MPI_COMM_WORLD, ranks)
   nq = 0
   s = 0
   if (command_argument_count() == 4) then
      call get_command_argument(1, path)
      call get_command_argument(2, arg)
      read (arg, *, iostat=ios1) nq
      call get_command_argument(3, arg)
      read (arg, *, iostat=ios2) s
      call get_command_argument(4, out)
      if (ios1 /= 0 .or. ios2 /= 0) nq = 0
   end if
   if (nq < 1 .or. s < 1) then
      if (rank == 0) write (error_unit, '(a)') "usage: sweep_f MODEL Q S OUT.npy"
      call MPI_Finalize()
      stop 2, quiet=.true.
   end if
   call run()
   call MPI_Finalize()

contains

   !> First query of rank r's block: the blocks [r*Q/R, (r+1)*Q/R) tile the sweep in rank order.
   integer function block_start(r)
      integer, intent(in) :: r
      block_start = int(int(r, c_int64_t)*nq/ranks)
   end function

   subroutine run()
      type(dgmf_options_t) :: opts
      type(dgmf_model_t) :: model
      type(dgmf_config_t) :: config
      real(c_double), allocatable :: params(:, :), fidelity(:), coords(:, :)
      real(c_float), allocatable :: mine(:), gathered(:)
      integer, allocatable :: counts(:), offsets(:), dims(:)
      real(c_double) :: t0, seconds, slowest
      integer :: lo, hi, n, r

      call opts%create()
      call opts%set_threads(1) ! one intra-op thread per rank: the ranks are the parallelism
      call load_shared(trim(path), MPI_COMM_WORLD, opts, model)
      call model%sample_len(n)
      lo = block_start(rank)
      hi = block_start(rank + 1)
      call sweep_block(model, nq, lo, hi, params, fidelity, coords)
      call config%create_for_model(model)  ! the model's recommended sampler
      call config%set_samples(s)
      call config%set_seed(1_c_int64_t)
      call config%set_first_query(int(lo, c_int64_t)) ! the block's queries draw their noise of the whole sweep
      ! One row per network call: ONNX Runtime rounds a row differently with the number of rows beside it, and
      ! the ranks' blocks hold different numbers of rows (docs/distributed.md).
      call config%set_max_batch(1)

      ! Every rank knows every block: the gather's counts and offsets (in floats) need no message.
      allocate (mine((hi - lo)*n), counts(ranks), offsets(ranks), gathered(merge(nq*n, 0, rank == 0)))
      do r = 0, ranks - 1
         offsets(r + 1) = block_start(r)*n
         counts(r + 1) = block_start(r + 1)*n - offsets(r + 1)
      end do

      call MPI_Barrier(MPI_COMM_WORLD)
      t0 = MPI_Wtime()
      if (hi > lo) call model%predict_batch(config, params, fidelity, mine, coords=coords)
      call MPI_Gatherv(mine, size(mine), MPI_REAL4, gathered, counts, offsets, MPI_REAL4, 0, MPI_COMM_WORLD)
      seconds = MPI_Wtime() - t0
      call MPI_Reduce(seconds, slowest, 1, MPI_DOUBLE_PRECISION, MPI_MAX, 0, MPI_COMM_WORLD)
      if (rank /= 0) return

      print '(a)', "sweep: "//str(nq)//" queries x "//str(s)//" samples over "//str(ranks)//" ranks in "// &
         fixed(slowest, 3)//" s ("//fixed(nq/slowest, 2)//" queries/s)"
      call model%shape(dims)
      call write_npy(trim(out), [nq, dims], gathered)
   end subroutine

end program
