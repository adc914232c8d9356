!> A parameter sweep from Fortran: vary the first parameter over its range, predict the field and its
!> ensemble std at each point with one batched call, and write a table (param, mean, max std) to a file.
!> Written with the type-bound procedures (`model%load(...)`); each is also a plain procedure
!> (`dgmf_model_load(model, ...)`) mirroring the C function of the same name.
!> Usage: sweep MODEL.onnx [OUT.txt]
program sweep
   use, intrinsic :: iso_c_binding
   use dgmf
   implicit none
   integer, parameter :: npts = 9
   type(dgmf_model_t) :: model
   type(dgmf_config_t) :: config
   character(len=4096) :: path, out
   character(len=:), allocatable :: name, msg
   integer :: p, n, k, kind, levels, stat, unit
   real(c_double) :: lo, hi, flo, fhi
   real(c_double), allocatable :: params(:, :), fidelity(:)
   real(c_float), allocatable :: mean(:, :), std(:, :)

   call get_command_argument(1, path)
   out = "sweep.txt"
   if (command_argument_count() > 1) call get_command_argument(2, out)

   call model%load(trim(path))          ! no stat: an error stops with the message
   call model%num_params(p)
   call model%sample_len(n)
   call model%param(1, name, lo, hi)
   call model%fidelity(kind, levels, flo, fhi)

   ! params(P, n) is the row-major [n, P]; every query at the middle of the other ranges.
   allocate (params(p, npts), fidelity(npts), mean(n, npts), std(n, npts))
   do k = 1, p
      block
         character(len=:), allocatable :: pname
         real(c_double) :: a, b
         call model%param(k, pname, a, b)
         params(k, :) = 0.5d0*(a + b)
      end block
   end do
   do k = 1, npts
      params(1, k) = lo + (hi - lo)*(k - 1)/(npts - 1)
   end do
   fidelity = fhi

   call config%create("heun")
   call config%set_samples(8)
   call config%set_seed(3_c_int64_t)
   call model%predict_batch(config, params, fidelity, mean, std, stat=stat, errmsg=msg)
   if (stat /= DGMF_OK) then
      print '(a, a)', "prediction failed: ", msg
      stop 1
   end if

   open (newunit=unit, file=trim(out), status="replace", action="write")
   write (unit, '(a, a, a)') "# ", name, "   mean(field)   max(std)"
   do k = 1, npts
      write (unit, '(3es14.5)') params(1, k), sum(mean(:, k))/n, maxval(std(:, k))
   end do
   close (unit)
   print '(a, i0, a, a)', "wrote ", npts, " predictions to ", trim(out)
end program
