//! The DDL of a current OpenStack Placement database (Alembic head `a082b8bb98d0`), written the
//! way SQLAlchemy renders `placement/db/sqlalchemy/models.py` for SQLite: timestamp columns
//! first, named unique constraints, and foreign keys only where Placement declares them.

/// The tables, in load order. Parallel to the statements of [`insert_sql`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Table {
    AlembicVersion,
    ResourceClasses,
    Traits,
    ConsumerTypes,
    Projects,
    Users,
    PlacementAggregates,
    ResourceProviders,
    Inventories,
    ResourceProviderTraits,
    ResourceProviderAggregates,
    Consumers,
    Allocations,
}

impl Table {
    /// Every table, in load order.
    pub const ALL: [Table; 13] = [
        Table::AlembicVersion,
        Table::ResourceClasses,
        Table::Traits,
        Table::ConsumerTypes,
        Table::Projects,
        Table::Users,
        Table::PlacementAggregates,
        Table::ResourceProviders,
        Table::Inventories,
        Table::ResourceProviderTraits,
        Table::ResourceProviderAggregates,
        Table::Consumers,
        Table::Allocations,
    ];

    /// The table's name in the database.
    pub fn name(self) -> &'static str {
        match self {
            Table::AlembicVersion => "alembic_version",
            Table::ResourceClasses => "resource_classes",
            Table::Traits => "traits",
            Table::ConsumerTypes => "consumer_types",
            Table::Projects => "projects",
            Table::Users => "users",
            Table::PlacementAggregates => "placement_aggregates",
            Table::ResourceProviders => "resource_providers",
            Table::Inventories => "inventories",
            Table::ResourceProviderTraits => "resource_provider_traits",
            Table::ResourceProviderAggregates => "resource_provider_aggregates",
            Table::Consumers => "consumers",
            Table::Allocations => "allocations",
        }
    }

    /// The parameterised INSERT the generator prepares once per table. Ids the generator
    /// does not need to know (inventories, consumers, allocations) are left to SQLite.
    pub fn insert_sql(self) -> &'static str {
        match self {
            Table::AlembicVersion => "INSERT INTO alembic_version (version_num) VALUES (?1)",
            Table::ResourceClasses => {
                "INSERT INTO resource_classes (created_at, updated_at, id, name) VALUES (?1, ?2, ?3, ?4)"
            }
            Table::Traits => "INSERT INTO traits (created_at, updated_at, id, name) VALUES (?1, ?2, ?3, ?4)",
            Table::ConsumerTypes => {
                "INSERT INTO consumer_types (created_at, updated_at, id, name) VALUES (?1, ?2, ?3, ?4)"
            }
            Table::Projects => "INSERT INTO projects (created_at, updated_at, id, external_id) VALUES (?1, ?2, ?3, ?4)",
            Table::Users => "INSERT INTO users (created_at, updated_at, id, external_id) VALUES (?1, ?2, ?3, ?4)",
            Table::PlacementAggregates => {
                "INSERT INTO placement_aggregates (created_at, updated_at, id, uuid) VALUES (?1, ?2, ?3, ?4)"
            }
            Table::ResourceProviders => {
                "INSERT INTO resource_providers (created_at, updated_at, id, uuid, name, generation, \
                 root_provider_id, parent_provider_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            }
            Table::Inventories => {
                "INSERT INTO inventories (created_at, updated_at, resource_provider_id, resource_class_id, \
                 total, reserved, min_unit, max_unit, step_size, allocation_ratio) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            }
            Table::ResourceProviderTraits => {
                "INSERT INTO resource_provider_traits (created_at, updated_at, trait_id, resource_provider_id) \
                 VALUES (?1, ?2, ?3, ?4)"
            }
            Table::ResourceProviderAggregates => {
                "INSERT INTO resource_provider_aggregates (created_at, updated_at, resource_provider_id, \
                 aggregate_id) VALUES (?1, ?2, ?3, ?4)"
            }
            Table::Consumers => {
                "INSERT INTO consumers (created_at, updated_at, uuid, project_id, user_id, generation, \
                 consumer_type_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            }
            Table::Allocations => {
                "INSERT INTO allocations (created_at, updated_at, resource_provider_id, consumer_id, \
                 resource_class_id, used) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            }
        }
    }
}

/// `CREATE TABLE` statements with their unique constraints. `provider_fks` declares the two
/// self-references of `resource_providers`, as Placement does.
pub(super) fn create_tables(provider_fks: bool) -> String {
    let provider_fk_clauses = if provider_fks {
        ",\n\tFOREIGN KEY(parent_provider_id) REFERENCES resource_providers (id),\
         \n\tFOREIGN KEY(root_provider_id) REFERENCES resource_providers (id)"
    } else {
        ""
    };
    format!(
        "CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE resource_classes (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_resource_classes0name UNIQUE (name)
);
CREATE TABLE traits (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_traits0name UNIQUE (name)
);
CREATE TABLE consumer_types (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	name VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumer_types0name UNIQUE (name)
);
CREATE TABLE projects (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_projects0external_id UNIQUE (external_id)
);
CREATE TABLE users (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	external_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_users0external_id UNIQUE (external_id)
);
CREATE TABLE placement_aggregates (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36),
	PRIMARY KEY (id),
	CONSTRAINT uniq_placement_aggregates0uuid UNIQUE (uuid)
);
CREATE TABLE resource_providers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	name VARCHAR(200),
	generation INTEGER,
	root_provider_id INTEGER,
	parent_provider_id INTEGER,
	PRIMARY KEY (id),
	CONSTRAINT uniq_resource_providers0name UNIQUE (name),
	CONSTRAINT uniq_resource_providers0uuid UNIQUE (uuid){provider_fk_clauses}
);
CREATE TABLE inventories (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	resource_class_id INTEGER NOT NULL,
	total INTEGER NOT NULL,
	reserved INTEGER NOT NULL,
	min_unit INTEGER NOT NULL,
	max_unit INTEGER NOT NULL,
	step_size INTEGER NOT NULL,
	allocation_ratio FLOAT NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uniq_inventories0resource_provider_resource_class UNIQUE (resource_provider_id, resource_class_id)
);
CREATE TABLE resource_provider_traits (
	created_at DATETIME,
	updated_at DATETIME,
	trait_id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	PRIMARY KEY (trait_id, resource_provider_id),
	FOREIGN KEY(resource_provider_id) REFERENCES resource_providers (id),
	FOREIGN KEY(trait_id) REFERENCES traits (id)
);
CREATE TABLE resource_provider_aggregates (
	created_at DATETIME,
	updated_at DATETIME,
	resource_provider_id INTEGER NOT NULL,
	aggregate_id INTEGER NOT NULL,
	PRIMARY KEY (resource_provider_id, aggregate_id)
);
CREATE TABLE consumers (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	uuid VARCHAR(36) NOT NULL,
	project_id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	generation INTEGER DEFAULT 0 NOT NULL,
	consumer_type_id INTEGER,
	PRIMARY KEY (id),
	CONSTRAINT uniq_consumers0uuid UNIQUE (uuid),
	CONSTRAINT consumers_consumer_type_id_fkey FOREIGN KEY(consumer_type_id) REFERENCES consumer_types (id)
);
CREATE TABLE allocations (
	created_at DATETIME,
	updated_at DATETIME,
	id INTEGER NOT NULL,
	resource_provider_id INTEGER NOT NULL,
	consumer_id VARCHAR(36) NOT NULL,
	resource_class_id INTEGER NOT NULL,
	used INTEGER NOT NULL,
	PRIMARY KEY (id)
);
"
    )
}

/// Placement's secondary indexes, created after the load because building them once is much
/// faster than maintaining them row by row.
pub(super) const CREATE_INDEXES: &str = "
CREATE INDEX resource_providers_root_provider_id_idx ON resource_providers (root_provider_id);
CREATE INDEX resource_providers_parent_provider_id_idx ON resource_providers (parent_provider_id);
CREATE INDEX inventories_resource_class_id_idx ON inventories (resource_class_id);
CREATE INDEX resource_provider_traits_resource_provider_trait_idx
	ON resource_provider_traits (resource_provider_id, trait_id);
CREATE INDEX resource_provider_aggregates_aggregate_id_idx ON resource_provider_aggregates (aggregate_id);
CREATE INDEX consumers_project_id_uuid_idx ON consumers (project_id, uuid);
CREATE INDEX consumers_project_id_user_id_uuid_idx ON consumers (project_id, user_id, uuid);
CREATE INDEX consumers_consumer_type_id_idx ON consumers (consumer_type_id);
CREATE INDEX allocations_resource_provider_class_used_idx
	ON allocations (resource_provider_id, resource_class_id, used);
CREATE INDEX allocations_resource_class_id_idx ON allocations (resource_class_id);
CREATE INDEX allocations_consumer_id_idx ON allocations (consumer_id);
";
