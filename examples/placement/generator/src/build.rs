//! Decides every row of a generated Placement database and hands it to a [`Sink`]: SQLite when
//! generating, a counter when [`super::PlacementOptions::for_total_rows`] calibrates itself.
//!
//! The run has two phases. First the fixed vocabulary and every host: its provider tree,
//! inventories, traits and aggregate memberships; each allocatable inventory's remaining
//! capacity is kept in memory. Then consumers, in shuffled host order so ids interleave as in
//! a live cloud; each one books only what still fits, so every allocation respects
//! `used <= max_unit` and the per-inventory sum stays within `(total - reserved) * ratio`.

use std::collections::HashMap;

use rand::seq::{IndexedRandom, SliceRandom, index};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::ToSql;

use super::PlacementOptions;
use super::catalog::{self, FLAVORS, rc};
use super::schema::Table;

/// Where generated rows go.
pub(super) trait Sink {
    /// Stores one row of `table`; `params` follow [`Table::insert_sql`].
    fn insert(&mut self, table: Table, params: &[&dyn ToSql]) -> rusqlite::Result<()>;
}

/// A sink that only counts (the builder counts rows itself, so this one does nothing).
pub(super) struct CountingSink;

impl Sink for CountingSink {
    fn insert(&mut self, _table: Table, _params: &[&dyn ToSql]) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// 2022-01-01 00:00:00 UTC: when the simulated cloud was deployed.
const EPOCH: i64 = 1_640_995_200;
/// 2024-06-01 00:00:00 UTC: the simulated "now"; no timestamp is later.
const NOW: i64 = 1_717_200_000;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// What the builder reports besides its rows.
pub(super) struct Outcome {
    /// Rows written per table, parallel to [`Table::ALL`].
    pub counts: [u64; Table::ALL.len()],
    /// Consumers that found no capacity left on their host and were not written.
    pub unplaced_consumers: u64,
}

/// Generates the whole database into `sink`.
pub(super) fn run<S: Sink>(options: &PlacementOptions, sink: &mut S) -> rusqlite::Result<Outcome> {
    let mut builder = Builder::new(options, sink);
    builder.vocabulary()?;
    builder.tenants()?;
    builder.aggregates()?;
    builder.hosts()?;
    builder.consumers()?;
    Ok(Outcome { counts: builder.counts, unplaced_consumers: builder.unplaced })
}

/// Remaining room on one allocatable inventory.
struct Capacity {
    provider: i64,
    class: i64,
    /// `floor((total - reserved) * allocation_ratio)` minus what is already booked.
    free: i64,
    max_unit: i64,
}

/// One NUMA cell of a compute node: where instances take CPU and memory.
struct NumaCell {
    vcpu: usize,
    pcpu: Option<usize>,
    memory: usize,
}

/// One SR-IOV physical function.
struct PhysicalFunction {
    vf: usize,
    egress: usize,
    ingress: usize,
}

/// A compute node as the consumer phase sees it (indexes point into `Builder::capacity`).
struct ComputeHost {
    created: i64,
    cells: Vec<NumaCell>,
    pfs: Vec<PhysicalFunction>,
    /// DISK_GB on the root, or `None` when the node's disks live on shared storage.
    local_disk: Option<usize>,
    /// Index of the shared-storage provider serving this node.
    shared_storage: Option<usize>,
}

/// An ironic node: one unit of a custom class.
struct BaremetalNode {
    created: i64,
    capacity: usize,
}

/// An inventory to create.
struct Inventory {
    class: i64,
    total: i64,
    reserved: i64,
    max_unit: i64,
    ratio: f64,
}

/// A provider to create, with everything attached to it.
struct ProviderSpec<'a> {
    uuid: String,
    name: String,
    /// Root and parent ids; `None` for a root (whose root is itself).
    tree: Option<(i64, i64)>,
    created: i64,
    inventories: &'a [Inventory],
    traits: &'a [&'static str],
    aggregates: &'a [i64],
}

/// Which kind of root a host slot becomes.
#[derive(Clone, Copy)]
enum HostKind {
    Compute,
    SharedStorage,
    Baremetal,
    Empty,
}

/// Who a consumer is booked for.
#[derive(Clone, Copy)]
enum Slot {
    Compute(u32),
    Baremetal(u32),
}

struct Builder<'o, 's, S> {
    options: &'o PlacementOptions,
    sink: &'s mut S,
    rng: ChaCha8Rng,
    counts: [u64; Table::ALL.len()],
    unplaced: u64,
    trait_ids: HashMap<&'static str, i64>,
    projects: i64,
    users: i64,
    /// Ids of the aggregates each shared-storage provider shares through (one each).
    storage_aggregates: Vec<i64>,
    /// Ids of ordinary host aggregates.
    general_aggregates: Vec<i64>,
    next_provider_id: i64,
    capacity: Vec<Capacity>,
    computes: Vec<ComputeHost>,
    /// DISK_GB capacity of each shared-storage provider, by storage index.
    shared_disks: Vec<usize>,
    baremetal: Vec<BaremetalNode>,
}

impl<'o, 's, S: Sink> Builder<'o, 's, S> {
    fn new(options: &'o PlacementOptions, sink: &'s mut S) -> Self {
        let expected_consumers = i64::from(options.compute_nodes) * i64::from(options.consumers_per_node)
            + i64::from(options.baremetal_nodes);
        Builder {
            options,
            sink,
            rng: ChaCha8Rng::seed_from_u64(options.seed),
            counts: [0; Table::ALL.len()],
            unplaced: 0,
            trait_ids: HashMap::new(),
            // Tens of instances per project and a few users per project, as in a private cloud.
            projects: (expected_consumers / 25).max(2),
            users: (expected_consumers / 10).max(3),
            storage_aggregates: Vec::new(),
            general_aggregates: Vec::new(),
            next_provider_id: 1,
            capacity: Vec::new(),
            computes: Vec::new(),
            shared_disks: Vec::new(),
            baremetal: Vec::new(),
        }
    }

    fn insert(&mut self, table: Table, params: &[&dyn ToSql]) -> rusqlite::Result<()> {
        self.counts[table as usize] += 1;
        self.sink.insert(table, params)
    }

    /// Alembic stamp, resource classes, traits and consumer types.
    fn vocabulary(&mut self) -> rusqlite::Result<()> {
        self.insert(Table::AlembicVersion, &[&catalog::ALEMBIC_HEAD])?;
        let synced = ts(EPOCH);
        let none: Option<String> = None;
        if self.options.sync_standard_resource_classes {
            for (id, name) in catalog::STANDARD_RESOURCE_CLASSES.iter().enumerate() {
                self.insert(Table::ResourceClasses, &[&synced, &none, &(id as i64), name])?;
            }
        }
        for (offset, name) in catalog::CUSTOM_RESOURCE_CLASSES.iter().enumerate() {
            let created = ts(EPOCH + 3 * DAY + offset as i64 * 7 * DAY);
            let id = catalog::MIN_CUSTOM_RESOURCE_CLASS_ID + offset as i64;
            self.insert(Table::ResourceClasses, &[&created, &none, &id, name])?;
        }
        let standard = catalog::STANDARD_TRAITS.iter().map(|name| (name, EPOCH));
        let custom = catalog::CUSTOM_TRAITS.iter().enumerate().map(|(i, name)| (name, EPOCH + (i as i64 + 2) * DAY));
        for (id, (name, created)) in (1_i64..).zip(standard.chain(custom)) {
            self.trait_ids.insert(name, id);
            self.insert(Table::Traits, &[&ts(created), &none, &id, name])?;
        }
        for (id, name) in (1_i64..).zip(catalog::CONSUMER_TYPES) {
            self.insert(Table::ConsumerTypes, &[&ts(EPOCH + 200 * DAY), &none, &id, name])?;
        }
        Ok(())
    }

    /// Keystone projects and users, known to Placement by their 32-hex ids.
    fn tenants(&mut self) -> rusqlite::Result<()> {
        let none: Option<String> = None;
        for (table, count) in [(Table::Projects, self.projects), (Table::Users, self.users)] {
            for id in 1..=count {
                let created = ts(EPOCH + self.rng.random_range(0..NOW - EPOCH));
                let external_id = hex(&mut self.rng, 16);
                self.insert(table, &[&created, &none, &id, &external_id])?;
            }
        }
        Ok(())
    }

    /// One aggregate per shared-storage provider, then ordinary host aggregates.
    fn aggregates(&mut self) -> rusqlite::Result<()> {
        let none: Option<String> = None;
        let storage = i64::from(self.options.shared_storage_providers);
        let general = i64::from(self.options.compute_nodes.div_ceil(8).max(1));
        for id in 1..=storage + general {
            let created = ts(EPOCH + self.rng.random_range(0..30 * DAY));
            let uuid = uuid4(&mut self.rng);
            self.insert(Table::PlacementAggregates, &[&created, &none, &id, &uuid])?;
            if id <= storage { self.storage_aggregates.push(id) } else { self.general_aggregates.push(id) }
        }
        Ok(())
    }

    /// Every root provider and its tree, in a shuffled order of kinds.
    fn hosts(&mut self) -> rusqlite::Result<()> {
        let o = self.options;
        let mut kinds = Vec::new();
        for (kind, count) in [
            (HostKind::Compute, o.compute_nodes),
            (HostKind::SharedStorage, o.shared_storage_providers),
            (HostKind::Baremetal, o.baremetal_nodes),
            (HostKind::Empty, o.empty_roots),
        ] {
            kinds.extend(std::iter::repeat_n(kind, count as usize));
        }
        kinds.shuffle(&mut self.rng);
        // Shared-storage providers may be created after the nodes that use them, so their
        // capacity slots are reserved up front and filled in when they are created.
        self.shared_disks = vec![usize::MAX; o.shared_storage_providers as usize];
        let mut host_number = 0_u32;
        let mut storage_number = 0_usize;
        for kind in kinds {
            let created = EPOCH + self.rng.random_range(0..300 * DAY);
            match kind {
                HostKind::Compute => {
                    host_number += 1;
                    self.compute_node(host_number, created)?;
                }
                HostKind::Empty => {
                    // A root without children or inventory: a decommissioned or half-deployed
                    // host that a runbook check should find.
                    host_number += 1;
                    let spec = ProviderSpec {
                        uuid: uuid4(&mut self.rng),
                        name: format!("compute-{host_number:04}.example.org"),
                        tree: None,
                        created,
                        inventories: &[],
                        traits: &[],
                        aggregates: &[],
                    };
                    self.provider(spec)?;
                }
                HostKind::SharedStorage => {
                    self.shared_storage(storage_number, created)?;
                    storage_number += 1;
                }
                HostKind::Baremetal => self.baremetal_node(created)?,
            }
        }
        Ok(())
    }

    /// A compute node: root with DISK_GB (unless on shared storage), 1–2 NUMA cells with
    /// VCPU/PCPU/MEMORY_MB, and on some nodes two SR-IOV PFs under the NUMA cells.
    fn compute_node(&mut self, number: u32, created: i64) -> rusqlite::Result<()> {
        let host = format!("compute-{number:04}");
        let rng = &mut self.rng;
        let threads = *[32, 40, 48, 64, 80, 96, 112, 128].choose(rng).expect("non-empty");
        let memory = weighted(
            rng,
            &[
                (65_536, 5),
                (131_072, 15),
                (196_608, 15),
                (262_144, 25),
                (393_216, 15),
                (524_288, 12),
                (786_432, 8),
                (1_048_576, 5),
            ],
        );
        let cell_count: i64 = if rng.random_bool(0.7) { 2 } else { 1 };
        let dedicated = rng.random_bool(0.3);
        let sriov = rng.random_bool(0.4);
        let storage_count = self.options.shared_storage_providers as usize;
        let shared_storage = (storage_count > 0 && rng.random_bool(0.25)).then(|| rng.random_range(0..storage_count));
        let cpu_ratio = weighted(rng, &[(16.0, 4), (4.0, 4), (2.0, 2)]);
        let memory_ratio = weighted(rng, &[(1.0, 7), (1.5, 3)]);

        // Root.
        let mut traits = vec!["COMPUTE_NODE"];
        let optional = rng.random_range(0..=4);
        traits.extend(
            index::sample(rng, catalog::ROOT_TRAIT_POOL.len(), optional).iter().map(|i| catalog::ROOT_TRAIT_POOL[i]),
        );
        if rng.random_bool(0.03) {
            traits.push("COMPUTE_STATUS_DISABLED");
        }
        if rng.random_bool(0.1) {
            traits.push("CUSTOM_GOLD_TIER");
        }
        let mut aggregates = Vec::new();
        let mut general = rng.random_range(0..=3_usize);
        if let Some(storage) = shared_storage {
            aggregates.push(self.storage_aggregates[storage]);
            general = general.saturating_sub(1);
        }
        let pool = &self.general_aggregates;
        aggregates.extend(index::sample(rng, pool.len(), general.min(pool.len())).iter().map(|i| pool[i]));
        let disk = if shared_storage.is_none() {
            let total = rng.random_range(5..=100) * 100;
            vec![Inventory {
                class: rc::DISK_GB,
                total,
                reserved: *[0, 10, 50].choose(rng).expect("non-empty"),
                max_unit: total,
                ratio: 1.0,
            }]
        } else {
            Vec::new()
        };
        let root_spec = ProviderSpec {
            uuid: uuid4(rng),
            name: format!("{host}.example.org"),
            tree: None,
            created,
            inventories: &disk,
            traits: &traits,
            aggregates: &aggregates,
        };
        let (root, root_caps) = self.provider(root_spec)?;

        // NUMA cells.
        let mut cells = Vec::new();
        let mut cell_ids = Vec::new();
        for cell in 0..cell_count {
            let rng = &mut self.rng;
            let threads = threads / cell_count;
            let pcpus = if dedicated { threads / 2 } else { 0 };
            let vcpus = threads - pcpus;
            let memory = memory / cell_count;
            let memory_reserved = if cell == 0 { *[512, 2048, 4096].choose(rng).expect("non-empty") } else { 0 };
            let vcpu_reserved = if cell == 0 { rng.random_range(0..=2) } else { 0 };
            let mut inventories = vec![
                Inventory { class: rc::VCPU, total: vcpus, reserved: vcpu_reserved, max_unit: vcpus, ratio: cpu_ratio },
                Inventory {
                    class: rc::MEMORY_MB,
                    total: memory,
                    reserved: memory_reserved,
                    max_unit: memory,
                    ratio: memory_ratio,
                },
            ];
            if dedicated {
                inventories.push(Inventory { class: rc::PCPU, total: pcpus, reserved: 0, max_unit: pcpus, ratio: 1.0 });
            }
            let mut traits = vec!["HW_NUMA_ROOT"];
            if dedicated && rng.random_bool(0.5) {
                traits.push("HW_CPU_HYPERTHREADING");
            }
            let spec = ProviderSpec {
                uuid: uuid4(rng),
                name: format!("{host}_NUMA{cell}"),
                tree: Some((root, root)),
                created: created + rng.random_range(1..120),
                inventories: &inventories,
                traits: &traits,
                aggregates: &[],
            };
            let (id, caps) = self.provider(spec)?;
            cell_ids.push(id);
            cells.push(NumaCell { vcpu: caps, memory: caps + 1, pcpu: dedicated.then_some(caps + 2) });
        }

        // SR-IOV physical functions, one per NUMA cell where possible.
        let mut pfs = Vec::new();
        if sriov {
            for pf in 0..2_usize {
                let rng = &mut self.rng;
                let parent = cell_ids[pf.min(cell_ids.len() - 1)];
                let vfs = *[8, 16, 32, 64].choose(rng).expect("non-empty");
                let bandwidth = *[10_000_000, 25_000_000].choose(rng).expect("non-empty");
                let inventories = [
                    Inventory { class: rc::SRIOV_NET_VF, total: vfs, reserved: 0, max_unit: vfs, ratio: 1.0 },
                    Inventory {
                        class: rc::NET_BW_EGR_KILOBIT_PER_SEC,
                        total: bandwidth,
                        reserved: 0,
                        max_unit: bandwidth,
                        ratio: 1.0,
                    },
                    Inventory {
                        class: rc::NET_BW_IGR_KILOBIT_PER_SEC,
                        total: bandwidth,
                        reserved: 0,
                        max_unit: bandwidth,
                        ratio: 1.0,
                    },
                ];
                let mut traits = vec!["HW_NIC_SRIOV"];
                let offloads = rng.random_range(0..=2);
                traits.extend(
                    index::sample(rng, catalog::NIC_OFFLOAD_POOL.len(), offloads)
                        .iter()
                        .map(|i| catalog::NIC_OFFLOAD_POOL[i]),
                );
                if rng.random_bool(0.3) {
                    traits.push("HW_NIC_SRIOV_MULTIQUEUE");
                }
                traits.push(if pf == 0 { "CUSTOM_PHYSNET_PHYSNET0" } else { "CUSTOM_PHYSNET_PHYSNET1" });
                traits.push("CUSTOM_VNIC_TYPE_DIRECT");
                let spec = ProviderSpec {
                    uuid: uuid4(rng),
                    name: format!("{host}_NIC1_PF{pf}"),
                    tree: Some((root, parent)),
                    created: created + rng.random_range(120..3_600),
                    inventories: &inventories,
                    traits: &traits,
                    aggregates: &[],
                };
                let (_, caps) = self.provider(spec)?;
                pfs.push(PhysicalFunction { vf: caps, egress: caps + 1, ingress: caps + 2 });
            }
        }

        let local_disk = shared_storage.is_none().then_some(root_caps);
        self.computes.push(ComputeHost { created, cells, pfs, local_disk, shared_storage });
        Ok(())
    }

    /// A shared-storage pool: a root with DISK_GB shared with the nodes of its aggregate.
    fn shared_storage(&mut self, number: usize, created: i64) -> rusqlite::Result<()> {
        let rng = &mut self.rng;
        let total = rng.random_range(200..=2_000) * 100;
        let inventories = [Inventory { class: rc::DISK_GB, total, reserved: 0, max_unit: 2_048, ratio: 1.0 }];
        let traits =
            ["MISC_SHARES_VIA_AGGREGATE", if rng.random_bool(0.7) { "STORAGE_DISK_SSD" } else { "STORAGE_DISK_HDD" }];
        let aggregates = [self.storage_aggregates[number]];
        let spec = ProviderSpec {
            uuid: uuid4(rng),
            name: format!("shared-storage-{:02}", number + 1),
            tree: None,
            created,
            inventories: &inventories,
            traits: &traits,
            aggregates: &aggregates,
        };
        let (_, caps) = self.provider(spec)?;
        self.shared_disks[number] = caps;
        Ok(())
    }

    /// An ironic node: a childless root, named by its node uuid, with one unit of a custom
    /// class; nodes in cleaning or maintenance have it reserved.
    fn baremetal_node(&mut self, created: i64) -> rusqlite::Result<()> {
        let rng = &mut self.rng;
        let class_index = weighted_index(rng, catalog::BAREMETAL_CLASS_WEIGHTS);
        let class = catalog::MIN_CUSTOM_RESOURCE_CLASS_ID + class_index as i64;
        let reserved = i64::from(rng.random_bool(0.1));
        let inventories = [Inventory { class, total: 1, reserved, max_unit: 1, ratio: 1.0 }];
        let count = rng.random_range(1..=3);
        let mut traits: Vec<&str> = index::sample(rng, catalog::BAREMETAL_TRAIT_POOL.len(), count)
            .iter()
            .map(|i| catalog::BAREMETAL_TRAIT_POOL[i])
            .collect();
        if rng.random_bool(0.3) {
            traits.push("CUSTOM_RAID_RAID10");
        }
        let pool = &self.general_aggregates;
        let aggregates: Vec<i64> =
            if rng.random_bool(0.5) { pool.choose(rng).copied().into_iter().collect() } else { Vec::new() };
        let uuid = uuid4(rng);
        let spec = ProviderSpec {
            name: uuid.clone(),
            uuid,
            tree: None,
            created,
            inventories: &inventories,
            traits: &traits,
            aggregates: &aggregates,
        };
        let (_, capacity) = self.provider(spec)?;
        self.baremetal.push(BaremetalNode { created, capacity });
        Ok(())
    }

    /// Writes one provider with its inventories, traits and aggregate links. Returns its id
    /// and the index in `capacity` of its first inventory (the rest follow in order).
    fn provider(&mut self, spec: ProviderSpec<'_>) -> rusqlite::Result<(i64, usize)> {
        let id = self.next_provider_id;
        self.next_provider_id += 1;
        let (root, parent) = match spec.tree {
            Some((root, parent)) => (root, Some(parent)),
            None => (id, None),
        };
        // Placement bumps the generation on every change to inventory, traits, aggregates
        // or allocations, so a provider that has any of them has been bumped a few times.
        let changes = [!spec.inventories.is_empty(), !spec.traits.is_empty(), !spec.aggregates.is_empty()]
            .iter()
            .filter(|c| **c)
            .count() as i64;
        let generation =
            if changes > 0 { changes + self.rng.random_range(0..=8) } else { self.rng.random_range(0..=2) };
        let updated = (generation > 0).then(|| ts(later(&mut self.rng, spec.created, 200 * DAY)));
        let created = ts(spec.created);
        self.insert(
            Table::ResourceProviders,
            &[&created, &updated, &id, &spec.uuid, &spec.name, &generation, &root, &parent],
        )?;

        let first_capacity = self.capacity.len();
        for inventory in spec.inventories {
            let inv_created = ts(spec.created + self.rng.random_range(1..60));
            let inv_updated = self.rng.random_bool(0.5).then(|| ts(later(&mut self.rng, spec.created, 300 * DAY)));
            let Inventory { class, total, reserved, max_unit, ratio } = *inventory;
            let (min_unit, step_size) = (1_i64, 1_i64);
            self.insert(
                Table::Inventories,
                &[&inv_created, &inv_updated, &id, &class, &total, &reserved, &min_unit, &max_unit, &step_size, &ratio],
            )?;
            // Exactly the rule Placement applies: (total - reserved) * allocation_ratio.
            let free = ((total - reserved) as f64 * ratio).floor() as i64;
            self.capacity.push(Capacity { provider: id, class, free, max_unit });
        }
        let none: Option<String> = None;
        for name in spec.traits {
            let trait_id = self.trait_ids[name];
            let linked = ts(spec.created + self.rng.random_range(1..600));
            self.insert(Table::ResourceProviderTraits, &[&linked, &none, &trait_id, &id])?;
        }
        for aggregate in spec.aggregates {
            let linked = ts(later(&mut self.rng, spec.created, 30 * DAY));
            self.insert(Table::ResourceProviderAggregates, &[&linked, &none, &id, aggregate])?;
        }
        Ok((id, first_capacity))
    }

    /// Consumers with their allocations: instances on compute nodes (`consumers_per_node` on
    /// average, uniformly ½..=1½×) and deployed ironic nodes, in shuffled order.
    fn consumers(&mut self) -> rusqlite::Result<()> {
        let mut slots = Vec::new();
        for host in 0..self.computes.len() as u32 {
            let average = self.options.consumers_per_node;
            let count = self.rng.random_range(average / 2..=average + average / 2);
            slots.extend(std::iter::repeat_n(Slot::Compute(host), count as usize));
        }
        for node in 0..self.baremetal.len() as u32 {
            if self.rng.random_bool(0.6) {
                slots.push(Slot::Baremetal(node));
            }
        }
        slots.shuffle(&mut self.rng);

        let total = slots.len().max(1) as i64;
        let mut bookings = Vec::new();
        for (n, slot) in slots.into_iter().enumerate() {
            bookings.clear();
            let host_created = match slot {
                Slot::Compute(host) => {
                    self.book_instance(host as usize, &mut bookings);
                    self.computes[host as usize].created
                }
                Slot::Baremetal(node) => {
                    let node = &self.baremetal[node as usize];
                    if take(&mut self.capacity[node.capacity], 1) {
                        bookings.push((node.capacity, 1));
                    }
                    node.created
                }
            };
            if bookings.is_empty() {
                self.unplaced += 1;
                continue;
            }
            // Consumer ids grow with time, as they do in a live database.
            let mut created = EPOCH + (NOW - EPOCH) * n as i64 / total;
            if created <= host_created {
                created = host_created + self.rng.random_range(HOUR..DAY);
            }
            self.consumer(created.min(NOW), &bookings)?;
        }
        Ok(())
    }

    /// Books one instance on a compute node: CPU and memory on one NUMA cell, disk on the root
    /// or the shared pool (none when booted from volume), sometimes a VF (and bandwidth) on a
    /// PF. Falls back to smaller flavors when the node is nearly full; books nothing if even
    /// the smallest does not fit.
    fn book_instance(&mut self, host: usize, bookings: &mut Vec<(usize, i64)>) {
        let rng = &mut self.rng;
        let node = &self.computes[host];
        let wanted = weighted_index(rng, &FLAVORS.iter().map(|f| f.weight).collect::<Vec<_>>());
        let pinned = node.cells[0].pcpu.is_some() && rng.random_bool(0.5);
        let start = rng.random_range(0..node.cells.len());
        let mut flavor = None;
        'search: for candidate in FLAVORS[..=wanted].iter().rev() {
            for dedicated in if pinned { &[true, false][..] } else { &[false][..] } {
                for offset in 0..node.cells.len() {
                    let cell = &node.cells[(start + offset) % node.cells.len()];
                    let cpu = if *dedicated { cell.pcpu.expect("pinned only with PCPU") } else { cell.vcpu };
                    if fits(&self.capacity[cpu], candidate.vcpus)
                        && fits(&self.capacity[cell.memory], candidate.memory_mb)
                    {
                        bookings.push((cpu, candidate.vcpus));
                        bookings.push((cell.memory, candidate.memory_mb));
                        flavor = Some(*candidate);
                        break 'search;
                    }
                }
            }
        }
        let Some(flavor) = flavor else { return };
        let disk = node.local_disk.or(node.shared_storage.map(|storage| self.shared_disks[storage]));
        // One instance in ten boots from volume and books no DISK_GB.
        if let Some(disk) = disk.filter(|_| !rng.random_bool(0.1))
            && fits(&self.capacity[disk], flavor.disk_gb)
        {
            bookings.push((disk, flavor.disk_gb));
        }
        if !node.pfs.is_empty() && rng.random_bool(0.25) {
            let first = rng.random_range(0..node.pfs.len());
            for offset in 0..node.pfs.len() {
                let pf = &node.pfs[(first + offset) % node.pfs.len()];
                if !fits(&self.capacity[pf.vf], 1) {
                    continue;
                }
                bookings.push((pf.vf, 1));
                if rng.random_bool(0.5) {
                    let kbps = *[10_000, 100_000, 1_000_000].choose(rng).expect("non-empty");
                    if fits(&self.capacity[pf.egress], kbps) && fits(&self.capacity[pf.ingress], kbps) {
                        bookings.push((pf.egress, kbps));
                        bookings.push((pf.ingress, kbps));
                    }
                }
                break;
            }
        }
        for &(capacity, used) in bookings.iter() {
            self.capacity[capacity].free -= used;
        }
    }

    /// Writes one consumer and its allocations (one row per provider and class).
    fn consumer(&mut self, created: i64, bookings: &[(usize, i64)]) -> rusqlite::Result<()> {
        let rng = &mut self.rng;
        let uuid = uuid4(rng);
        let project = rng.random_range(1..=self.projects);
        let user = rng.random_range(1..=self.users);
        let generation: i64 = if rng.random_bool(0.8) { 1 } else { rng.random_range(2..=4) };
        // Consumers written before microversion 1.38 have no type; nova marks the rest.
        let consumer_type: Option<i64> = weighted(rng, &[(None, 10), (Some(1), 88), (Some(2), 2)]);
        let updated = (generation > 1).then(|| ts(later(rng, created, 90 * DAY)));
        let created = ts(created);
        self.insert(Table::Consumers, &[&created, &updated, &uuid, &project, &user, &generation, &consumer_type])?;
        let none: Option<String> = None;
        for &(capacity, used) in bookings {
            let Capacity { provider, class, .. } = self.capacity[capacity];
            self.insert(Table::Allocations, &[&created, &none, &provider, &uuid, &class, &used])?;
        }
        Ok(())
    }
}

/// Whether `amount` can still be booked on `capacity` (min_unit and step_size are 1).
fn fits(capacity: &Capacity, amount: i64) -> bool {
    amount >= 1 && amount <= capacity.max_unit && amount <= capacity.free
}

/// Books `amount` if it fits.
fn take(capacity: &mut Capacity, amount: i64) -> bool {
    let ok = fits(capacity, amount);
    if ok {
        capacity.free -= amount;
    }
    ok
}

/// A moment after `start`, at most `within` later and never after [`NOW`].
fn later(rng: &mut ChaCha8Rng, start: i64, within: i64) -> i64 {
    (start + rng.random_range(HOUR..within.max(HOUR + 1))).min(NOW).max(start)
}

/// Picks a value by weight.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, choices: &[(T, u32)]) -> T {
    let weights: Vec<u32> = choices.iter().map(|(_, w)| *w).collect();
    choices[weighted_index(rng, &weights)].0
}

/// Picks an index by weight.
fn weighted_index(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let mut roll = rng.random_range(0..weights.iter().sum::<u32>());
    for (i, weight) in weights.iter().enumerate() {
        if roll < *weight {
            return i;
        }
        roll -= weight;
    }
    unreachable!("roll is below the sum of the weights")
}

/// `bytes` random bytes as lowercase hex (16 bytes: a keystone id).
fn hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let _ = write!(out, "{:02x}", rng.random::<u8>());
    }
    out
}

/// A random version-4 UUID in its canonical form.
fn uuid4(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0_u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC), the text SQLAlchemy stores in SQLite.
pub(super) fn ts(secs: i64) -> String {
    // Days to civil date: Howard Hinnant's algorithm.
    let (days, time) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", time / 3_600, time % 3_600 / 60, time % 60)
}
