// Gives the shared library a versioned SONAME (libdgmf.so.MAJOR) so that installed copies can coexist and
// executables record the ABI they were linked against.
fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdgmf.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
