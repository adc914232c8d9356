"""Multi-fidelity data generators (numerical PDE solvers) for the DGMF benchmarks:
poisson (2-D, discrete fidelity), heat (1-D space x time, continuous fidelity),
burgers (1-D, discrete fidelity, time as coordinate).  See generate.py for the CLI."""
