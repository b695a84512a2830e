//! The fixed vocabulary of a Placement database: resource classes, traits, consumer types and
//! the instance flavors the generator books. Names are the real ones from `os-resource-classes`
//! and `os-traits`, so a mapping written against generated data works on a real deployment.

/// The standard resource classes of `os-resource-classes` (1.1), in its order: a class's index
/// is its id. Placement syncs them into `resource_classes` at start-up with exactly these ids
/// (`placement/objects/resource_class.py`, `_resource_classes_sync`); older (nova-api era)
/// databases did not store them at all, so a mapping may have to synthesise them from here.
pub const STANDARD_RESOURCE_CLASSES: &[&str] = &[
    "VCPU",
    "MEMORY_MB",
    "DISK_GB",
    "PCI_DEVICE",
    "SRIOV_NET_VF",
    "NUMA_SOCKET",
    "NUMA_CORE",
    "NUMA_THREAD",
    "NUMA_MEMORY_MB",
    "IPV4_ADDRESS",
    "VGPU",
    "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC",
    "NET_BW_IGR_KILOBIT_PER_SEC",
    "PCPU",
    "MEM_ENCRYPTION_CONTEXT",
    "FPGA",
    "PGPU",
];

/// The first id Placement gives a custom resource class (`MIN_CUSTOM_RESOURCE_CLASS_ID`).
pub const MIN_CUSTOM_RESOURCE_CLASS_ID: i64 = 10_000;

/// Standard class ids used by the generator (indexes into [`STANDARD_RESOURCE_CLASSES`]).
pub(super) mod rc {
    pub const VCPU: i64 = 0;
    pub const MEMORY_MB: i64 = 1;
    pub const DISK_GB: i64 = 2;
    pub const SRIOV_NET_VF: i64 = 4;
    pub const NET_BW_EGR_KILOBIT_PER_SEC: i64 = 12;
    pub const NET_BW_IGR_KILOBIT_PER_SEC: i64 = 13;
    pub const PCPU: i64 = 14;
}

/// Custom resource classes, stored from id [`MIN_CUSTOM_RESOURCE_CLASS_ID`] on in this order.
/// The first three are ironic node classes; the last is left unused on purpose (real databases
/// keep classes nobody references any more).
pub(super) const CUSTOM_RESOURCE_CLASSES: &[&str] =
    &["CUSTOM_BAREMETAL_GOLD", "CUSTOM_BAREMETAL_SILVER", "CUSTOM_BAREMETAL_GPU", "CUSTOM_BAREMETAL_LEGACY"];

/// How often each ironic class is used, parallel to the first entries of
/// [`CUSTOM_RESOURCE_CLASSES`].
pub(super) const BAREMETAL_CLASS_WEIGHTS: &[u32] = &[40, 45, 15];

/// Standard traits stored in `traits` (ids 1.. in this order), a realistic subset of the
/// several hundred `os-traits` names Placement syncs.
pub(super) const STANDARD_TRAITS: &[&str] = &[
    "COMPUTE_ACCELERATORS",
    "COMPUTE_DEVICE_TAGGING",
    "COMPUTE_IMAGE_TYPE_ISO",
    "COMPUTE_IMAGE_TYPE_QCOW2",
    "COMPUTE_IMAGE_TYPE_RAW",
    "COMPUTE_NET_ATTACH_INTERFACE",
    "COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG",
    "COMPUTE_NODE",
    "COMPUTE_RESCUE_BFV",
    "COMPUTE_STATUS_DISABLED",
    "COMPUTE_TRUSTED_CERTS",
    "COMPUTE_VOLUME_ATTACH_WITH_TAG",
    "COMPUTE_VOLUME_EXTEND",
    "COMPUTE_VOLUME_MULTI_ATTACH",
    "HW_ARCH_X86_64",
    "HW_CPU_HYPERTHREADING",
    "HW_CPU_X86_AESNI",
    "HW_CPU_X86_AMD_SEV",
    "HW_CPU_X86_AVX",
    "HW_CPU_X86_AVX2",
    "HW_CPU_X86_AVX512F",
    "HW_CPU_X86_BMI",
    "HW_CPU_X86_BMI2",
    "HW_CPU_X86_CLMUL",
    "HW_CPU_X86_F16C",
    "HW_CPU_X86_FMA3",
    "HW_CPU_X86_MMX",
    "HW_CPU_X86_SHA",
    "HW_CPU_X86_SSE",
    "HW_CPU_X86_SSE2",
    "HW_CPU_X86_SSE41",
    "HW_CPU_X86_SSE42",
    "HW_CPU_X86_SSSE3",
    "HW_CPU_X86_SVM",
    "HW_CPU_X86_VMX",
    "HW_NIC_OFFLOAD_GRO",
    "HW_NIC_OFFLOAD_GSO",
    "HW_NIC_OFFLOAD_RXVLAN",
    "HW_NIC_OFFLOAD_TSO",
    "HW_NIC_OFFLOAD_TXVLAN",
    "HW_NIC_OFFLOAD_VXLAN",
    "HW_NIC_SRIOV",
    "HW_NIC_SRIOV_MULTIQUEUE",
    "HW_NUMA_ROOT",
    "MISC_SHARES_VIA_AGGREGATE",
    "STORAGE_DISK_HDD",
    "STORAGE_DISK_SSD",
];

/// Custom traits, stored after the standard ones. `CUSTOM_LEGACY_RACK_B7` is never used.
pub(super) const CUSTOM_TRAITS: &[&str] = &[
    "CUSTOM_PHYSNET_PHYSNET0",
    "CUSTOM_PHYSNET_PHYSNET1",
    "CUSTOM_VNIC_TYPE_DIRECT",
    "CUSTOM_GOLD_TIER",
    "CUSTOM_RAID_RAID10",
    "CUSTOM_LEGACY_RACK_B7",
];

/// Optional traits a compute node's root may carry besides `COMPUTE_NODE`.
pub(super) const ROOT_TRAIT_POOL: &[&str] = &[
    "HW_ARCH_X86_64",
    "HW_CPU_X86_AVX2",
    "HW_CPU_X86_AVX512F",
    "HW_CPU_X86_SSE42",
    "HW_CPU_X86_AESNI",
    "HW_CPU_X86_VMX",
    "HW_CPU_X86_AMD_SEV",
    "COMPUTE_VOLUME_MULTI_ATTACH",
    "COMPUTE_VOLUME_EXTEND",
    "COMPUTE_NET_ATTACH_INTERFACE",
    "COMPUTE_DEVICE_TAGGING",
    "COMPUTE_IMAGE_TYPE_QCOW2",
    "COMPUTE_IMAGE_TYPE_RAW",
    "COMPUTE_TRUSTED_CERTS",
];

/// CPU feature traits an ironic node may carry.
pub(super) const BAREMETAL_TRAIT_POOL: &[&str] =
    &["HW_ARCH_X86_64", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "HW_CPU_X86_VMX", "HW_CPU_HYPERTHREADING"];

/// Offload traits an SR-IOV physical function may carry besides `HW_NIC_SRIOV`.
pub(super) const NIC_OFFLOAD_POOL: &[&str] =
    &["HW_NIC_OFFLOAD_TSO", "HW_NIC_OFFLOAD_GRO", "HW_NIC_OFFLOAD_GSO", "HW_NIC_OFFLOAD_VXLAN"];

/// Rows of `consumer_types` (ids 1.. in this order), the names nova writes.
pub(super) const CONSUMER_TYPES: &[&str] = &["INSTANCE", "MIGRATION"];

/// The Alembic revision a current Placement database is stamped with.
pub(super) const ALEMBIC_HEAD: &str = "a082b8bb98d0";

/// A nova flavor: what one instance books.
#[derive(Clone, Copy, Debug)]
pub(super) struct Flavor {
    /// Virtual (or, when pinned, dedicated) CPUs.
    pub vcpus: i64,
    /// Memory in MiB.
    pub memory_mb: i64,
    /// Root disk in GiB.
    pub disk_gb: i64,
    /// Relative popularity.
    pub weight: u32,
}

/// The flavors instances are drawn from, smallest first (the generator falls back to smaller
/// ones when a host is nearly full).
pub(super) const FLAVORS: &[Flavor] = &[
    Flavor { vcpus: 1, memory_mb: 512, disk_gb: 1, weight: 5 },
    Flavor { vcpus: 1, memory_mb: 2048, disk_gb: 20, weight: 30 },
    Flavor { vcpus: 2, memory_mb: 4096, disk_gb: 40, weight: 30 },
    Flavor { vcpus: 4, memory_mb: 8192, disk_gb: 80, weight: 20 },
    Flavor { vcpus: 8, memory_mb: 16384, disk_gb: 160, weight: 10 },
    Flavor { vcpus: 16, memory_mb: 32768, disk_gb: 200, weight: 5 },
];
