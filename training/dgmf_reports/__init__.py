"""The scripts that write the project's reports (docs/accuracy.md, the learning curves, the held-out
evaluation, figures): they use the `dgmf_train` library and the `dgmf` engine, and nothing imports them."""
