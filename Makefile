# Build and install libdgmf for C, C++ and Fortran users.
#   make                      build the release library and the Fortran module
#   make CARGO_FEATURES=dgmf/cuda   the same with the CUDA execution provider (dgmf/tensorrt: TensorRT)
#   make install PREFIX=DIR   install library, headers, Fortran module, pkg-config and CMake files, and the
#                             ONNX Runtime library beside libdgmf (fetched from the PyPI wheel if needed)
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
ifeq ($(origin FC),default)
FC = gfortran
endif
FFLAGS ?= -O2 -fPIC

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
# Written once, in the engine (crates/dgmf/src/runtime/locate.rs).
ORT_VERSION := $(shell sed -n 's/^pub const TESTED_ORT_VERSION: &str = "\(.*\)";/\1/p' crates/dgmf/src/runtime/locate.rs)
FDIR := target/fortran

.PHONY: all lib fortran install uninstall
all: lib fortran

# crates/dgmf-capi builds libdgmf_capi.so/.a (its SONAME is already libdgmf.so.MAJOR); they are installed
# under the names users link against, libdgmf.so.VERSION and libdgmf.a.
lib:
	cargo build --release -p dgmf-capi $(if $(CARGO_FEATURES),--features $(CARGO_FEATURES))
	scripts/fetch-ort.sh >/dev/null

fortran: $(FDIR)/libdgmf_fortran.a

$(FDIR)/libdgmf_fortran.a: include/dgmf.f90
	mkdir -p $(FDIR)
	$(FC) $(FFLAGS) -J $(FDIR) -c $< -o $(FDIR)/dgmf.o
	ar rcs $@ $(FDIR)/dgmf.o

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/dgmf $(DESTDIR)$(INCLUDEDIR)/dgmf/fortran \
		$(DESTDIR)$(PREFIX)/share/dgmf/fortran
	install -m 755 target/release/libdgmf_capi.so $(DESTDIR)$(LIBDIR)/libdgmf.so.$(VERSION)
	ln -sf libdgmf.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libdgmf.so.$(MAJOR)
	ln -sf libdgmf.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libdgmf.so
	install -m 644 target/release/libdgmf_capi.a $(DESTDIR)$(LIBDIR)/libdgmf.a
	install -m 755 third_party/onnxruntime/libonnxruntime.so.$(ORT_VERSION) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/dgmf.h bindings/cpp/dgmf.hpp $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(FDIR)/dgmf.mod $(DESTDIR)$(INCLUDEDIR)/dgmf/fortran/
	install -m 644 $(FDIR)/libdgmf_fortran.a $(DESTDIR)$(LIBDIR)/
	install -m 644 include/dgmf.f90 $(DESTDIR)$(PREFIX)/share/dgmf/fortran/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' packaging/dgmf.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/dgmf.pc
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' packaging/dgmf-fortran.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/dgmf-fortran.pc
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' packaging/dgmfConfig.cmake.in \
		> $(DESTDIR)$(LIBDIR)/cmake/dgmf/dgmfConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' packaging/dgmfConfigVersion.cmake.in \
		> $(DESTDIR)$(LIBDIR)/cmake/dgmf/dgmfConfigVersion.cmake

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libdgmf.so* $(DESTDIR)$(LIBDIR)/libdgmf.a $(DESTDIR)$(LIBDIR)/libdgmf_fortran.a \
		$(DESTDIR)$(LIBDIR)/libonnxruntime.so.$(ORT_VERSION) $(DESTDIR)$(INCLUDEDIR)/dgmf.h $(DESTDIR)$(INCLUDEDIR)/dgmf.hpp \
		$(DESTDIR)$(LIBDIR)/pkgconfig/dgmf.pc $(DESTDIR)$(LIBDIR)/pkgconfig/dgmf-fortran.pc
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/dgmf $(DESTDIR)$(INCLUDEDIR)/dgmf $(DESTDIR)$(PREFIX)/share/dgmf
