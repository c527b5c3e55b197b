bench_all() { bench_note "all: todo"; }
