!> Pieces both Fortran MPI examples share (the twin of common.hpp): load the model once per job and share its
!> bytes, pick each rank's device, the example query, a .npy writer, and C-style number formatting so the
!> printed lines match the C++ programs'. docs/distributed.md explains each choice.
module mpi_common
   use, intrinsic :: iso_c_binding
   use, intrinsic :: iso_fortran_env, only: error_unit
   use mpi_f08
   use dgmf
   implicit none
   private
   public :: local_rank, device_for, load_shared, middle_query, write_npy, fixed, sci, str

contains

   !> The rank's index among the ranks of its node (MPI_COMM_TYPE_SHARED groups the ranks that share memory).
   integer function local_rank(comm)
      type(MPI_Comm), intent(in) :: comm
      type(MPI_Comm) :: node
      call MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, node)
      call MPI_Comm_rank(node, local_rank)
      call MPI_Comm_free(node)
   end function

   !> Execution provider of a rank: round-robin over the node's GPUs, or the CPU when it has none.
   function device_for(local, gpus_per_node) result(device)
      integer, intent(in) :: local, gpus_per_node
      character(len=:), allocatable :: device
      device = "cpu"
      if (gpus_per_node > 0) device = "cuda:"//str(modulo(local, gpus_per_node))
   end function

   !> Rank 0 reads the model file and broadcasts its bytes; every rank loads from memory. One read of the
   !> parallel file system per job instead of one per rank.
   subroutine load_shared(path, comm, opts, model)
      character(len=*), intent(in) :: path
      type(MPI_Comm), intent(in) :: comm
      type(dgmf_options_t), intent(in) :: opts
      type(dgmf_model_t), intent(inout) :: model
      integer, parameter :: chunk = 2**30
      integer(c_int8_t), allocatable :: bytes(:)
      integer(c_int64_t) :: nbytes, at
      integer :: rank, unit, ios, n
      call MPI_Comm_rank(comm, rank)
      nbytes = 0
      if (rank == 0) then
         nbytes = -1
         open (newunit=unit, file=path, access="stream", form="unformatted", action="read", status="old", iostat=ios)
         if (ios == 0) then
            inquire (unit=unit, size=nbytes)
            allocate (bytes(nbytes))
            read (unit, iostat=ios) bytes
            if (ios /= 0) nbytes = -1
            close (unit)
         end if
      end if
      call MPI_Bcast(nbytes, 1, MPI_INTEGER8, 0, comm)
      if (nbytes < 0) then
         write (error_unit, '(a, a)') "ensemble: cannot read ", path
         call MPI_Abort(comm, 1)
      end if
      if (rank /= 0) allocate (bytes(nbytes))
      ! MPI counts are default integers: the bytes go in chunks of at most 1 GiB (ONNX files stay below 2 GiB).
      do at = 1, nbytes, chunk
         n = int(min(nbytes - at + 1, int(chunk, c_int64_t)))
         call MPI_Bcast(bytes(at:at + n - 1), n, MPI_BYTE, 0, comm)
      end do
      call model%load_from_memory(bytes, opts)
   end subroutine

   !> The example query: every parameter (and coordinate) at the middle of its range, the top fidelity.
   subroutine middle_query(model, params, fidelity, coords)
      type(dgmf_model_t), intent(in) :: model
      !! params(P, 1), fidelity(1), coords(Q, 1): the one query
      real(c_double), allocatable, intent(out) :: params(:, :), fidelity(:), coords(:, :)
      character(len=:), allocatable :: name
      real(c_double) :: lo, hi
      integer :: k, p, q, kind, levels
      call model%num_params(p)
      call model%num_coords(q)
      allocate (params(p, 1), fidelity(1), coords(q, 1))
      do k = 1, p
         call model%param(k, name, lo, hi)
         params(k, 1) = 0.5d0*(lo + hi)
      end do
      do k = 1, q
         call model%coord(k, name, lo, hi)
         coords(k, 1) = 0.5d0*(lo + hi)
      end do
      call model%fidelity(kind, levels, lo, hi)
      fidelity(1) = hi
      if (kind == DGMF_FIDELITY_DISCRETE) fidelity(1) = levels - 1
   end subroutine

   !> Writes float32 values as a C-order .npy array (format 1.0) of the given shape, byte for byte as
   !> ensemble.cpp does: '<f4' as the values lie in memory on the little-endian hosts MPI jobs run on.
   subroutine write_npy(path, dims, values)
      character(len=*), intent(in) :: path
      integer, intent(in) :: dims(:)  !! the array's shape, C order
      real(c_float), intent(in) :: values(:)  !! product(dims) values, C order
      character(len=:), allocatable :: shape, header
      integer :: k, unit
      shape = ""
      do k = 1, size(dims)
         shape = shape//str(dims(k))//","
      end do
      if (size(dims) > 1) shape = shape(:len(shape) - 1) ! (3,) for one dim, (2,3) for more
      header = "{'descr': '<f4', 'fortran_order': False, 'shape': ("//shape//"), }"
      header = header//repeat(" ", 64 - modulo(10 + len(header) + 1, 64))//new_line("a") ! data at a multiple of 64
      open (newunit=unit, file=path, access="stream", form="unformatted", action="write", status="replace")
      write (unit) char(147)//"NUMPY"//char(1)//char(0)//char(modulo(len(header), 256))//char(len(header)/256)
      write (unit) header, values
      close (unit)
   end subroutine

   !> x with `digits` decimals, as C's "%.Nf" (F0.d drops the leading zero of 0.5).
   function fixed(x, digits) result(s)
      real(c_double), intent(in) :: x
      integer, intent(in) :: digits
      character(len=:), allocatable :: s
      character(len=40) :: buf
      character(len=16) :: fmt
      write (fmt, '(a, i0, a)') "(f40.", digits, ")"
      write (buf, fmt) x
      s = trim(adjustl(buf))
   end function

   !> x as C's "%.3e": 1.234e-07.
   function sci(x) result(s)
      real(c_double), intent(in) :: x
      character(len=:), allocatable :: s
      character(len=24) :: buf
      integer :: e
      write (buf, '(es24.3e3)') x
      buf = adjustl(buf)
      e = index(buf, "E")
      if (e > 0) then
         if (buf(e + 2:e + 2) == "0") buf = buf(:e + 1)//buf(e + 3:) ! two exponent digits unless it needs three
         buf(e:e) = "e"
      end if
      s = trim(buf)
   end function

   !> An integer as text, as C's "%d".
   function str(i) result(s)
      integer, intent(in) :: i
      character(len=:), allocatable :: s
      character(len=12) :: buf
      write (buf, '(i0)') i
      s = trim(buf)
   end function

end module
