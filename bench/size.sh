bench_size() { bench_note "size: todo"; }
