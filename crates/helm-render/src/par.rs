//! Independent work spread over the machine's cores: the phases of `helm template` that are
//! most of its time (parsing every template, reading the head of every output document) are
//! made of items that do not depend on each other. Results come back in the items' order, so
//! callers keep the effects, and the first error, that doing the items in turn would give.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this much input (bytes of text), starting a thread costs more than it saves.
pub const MIN_PARALLEL_BYTES: usize = 64 * 1024;

/// `items.iter().map(f).collect()`, computed on one thread per core when the items' input,
/// `bytes` long, is worth it. Threads take the next item as they finish one, so a few large
/// items do not leave a core idle.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    bytes: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = if bytes < MIN_PARALLEL_BYTES {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .min(items.len())
    };
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut finished = work();
        for helper in helpers {
            // A helper that panicked leaves its items undone; they are redone below, in turn.
            finished.extend(helper.join().unwrap_or_default());
        }
        for (i, r) in finished {
            slots[i] = Some(r);
        }
    });
    slots
        .into_iter()
        .zip(items)
        .map(|(slot, item)| slot.unwrap_or_else(|| f(item)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items_on_many_threads() {
        let items: Vec<usize> = (0..10_000).collect();
        let squares = map_in_order(&items, MIN_PARALLEL_BYTES, |&i| i * i);
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn small_work_stays_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let items = [1, 2, 3];
        let threads = map_in_order(&items, MIN_PARALLEL_BYTES - 1, |_| {
            std::thread::current().id()
        });
        assert!(threads.iter().all(|&t| t == caller));
    }
}
