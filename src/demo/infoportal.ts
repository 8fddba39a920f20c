/**
 * Demo data for `npm start`: a few realistic Info Portal tables on the local Postgres, and a
 * trickle of live changes so a user sees rows arrive in Kafka and the warehouse.
 */
import pg from "pg";

export interface DemoConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
}

const schemaSql = `
do $$ begin
  create type work_order_status as enum ('scheduled', 'in_progress', 'done', 'cancelled');
exception when duplicate_object then null; end $$;

create table if not exists customers (
  id bigserial primary key,
  name text not null,
  email varchar(200),
  region text not null,
  credit_limit numeric(12, 2) not null default 0,
  tags text[] not null default '{}',
  profile jsonb,
  created_at timestamptz not null default now()
);

create table if not exists technicians (
  id serial primary key,
  full_name text not null,
  skills text[] not null default '{}',
  hourly_rate numeric(8, 2) not null,
  active boolean not null default true
);

create table if not exists work_orders (
  id bigserial primary key,
  customer_id bigint not null references customers (id) on delete cascade,
  technician_id int references technicians (id),
  status work_order_status not null default 'scheduled',
  scheduled_for date not null,
  started_at timestamptz,
  duration interval,
  total numeric(12, 2),
  notes text,
  updated_at timestamptz not null default now()
);

create table if not exists invoices (
  id bigserial primary key,
  work_order_id bigint not null references work_orders (id) on delete cascade,
  amount numeric(12, 2) not null,
  currency char(3) not null default 'USD',
  issued_on date not null,
  paid boolean not null default false,
  paid_at timestamptz
);
`;

const regions = ["north", "south", "east", "west", "central"];
const firstNames = [
  "Ada",
  "Grace",
  "Alan",
  "Edsger",
  "Barbara",
  "Donald",
  "Frances",
  "Ken",
  "Margaret",
  "Tim",
];
const lastNames = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Allen",
  "Thompson",
  "Hamilton",
];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function randomName(): string {
  return `${pick(firstNames)} ${pick(lastNames)}`;
}

/** Creates the demo tables and, when they are empty, fills them (idempotent). */
export async function seedInfoPortal(
  connection: DemoConnection,
  customers = 500,
): Promise<{ seeded: boolean }> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    await client.query(schemaSql);
    const { rows } = await client.query<{ count: string }>("select count(*) from customers");
    if (Number(rows[0]?.count) > 0) return { seeded: false };
    await client.query("begin");
    await client.query(
      `insert into technicians (full_name, skills, hourly_rate)
       select 'Technician ' || n, (array['hvac', 'plumbing', 'electrical'])[1 + n % 3 : 2 + n % 3], 40 + n % 30
       from generate_series(1, 25) as n`,
    );
    await client.query(
      `insert into customers (name, email, region, credit_limit, tags, profile, created_at)
       select 'Customer ' || n, 'customer' || n || '@example.test', (array['north','south','east','west','central'])[1 + n % 5],
              (n * 37 % 10000) + 0.5, array['demo'], jsonb_build_object('tier', n % 3, 'since', 2015 + n % 10),
              now() - (n || ' days')::interval
       from generate_series(1, $1::int) as n`,
      [customers],
    );
    await client.query(
      `insert into work_orders (customer_id, technician_id, status, scheduled_for, started_at, duration, total, notes)
       select 1 + n % $1::int, 1 + n % 25, (array['scheduled','in_progress','done','cancelled'])[1 + n % 4]::work_order_status,
              current_date + (n % 30), now() - (n % 48 || ' hours')::interval, (n % 300 || ' minutes')::interval,
              (n * 13 % 2000) + 0.99, 'Visit ' || n
       from generate_series(1, $1::int * 4) as n`,
      [customers],
    );
    await client.query(
      `insert into invoices (work_order_id, amount, issued_on, paid)
       select id, coalesce(total, 0), scheduled_for, id % 2 = 0 from work_orders where status = 'done'`,
    );
    await client.query("commit");
    return { seeded: true };
  } finally {
    await client.end();
  }
}

/** One random realistic change: new customers and work orders, status moves, payments, cancellations. */
async function oneChange(client: pg.Client): Promise<void> {
  const roll = Math.random();
  if (roll < 0.25) {
    await client.query(
      "insert into customers (name, email, region, credit_limit, profile) values ($1, $2, $3, $4, $5)",
      [
        randomName(),
        `live${Date.now()}@example.test`,
        pick(regions),
        (Math.random() * 5000).toFixed(2),
        { tier: 1 },
      ],
    );
  } else if (roll < 0.55) {
    await client.query(
      `insert into work_orders (customer_id, technician_id, scheduled_for, notes)
       select id, 1 + floor(random() * 25)::int, current_date + 1, 'Booked live' from customers order by random() limit 1`,
    );
  } else if (roll < 0.85) {
    await client.query(
      `update work_orders set status = case status when 'scheduled' then 'in_progress'::work_order_status else 'done' end,
              started_at = coalesce(started_at, now()), total = round((random() * 900)::numeric, 2), updated_at = now()
       where id = (select id from work_orders where status in ('scheduled', 'in_progress') order by random() limit 1)`,
    );
  } else if (roll < 0.97) {
    await client.query(
      "update invoices set paid = true, paid_at = now() where id = (select id from invoices where not paid order by random() limit 1)",
    );
  } else {
    await client.query(
      "delete from work_orders where id = (select id from work_orders where status = 'cancelled' order by random() limit 1)",
    );
  }
}

/** Makes `perSecond` changes a second until `signal` aborts. */
export async function trickleInfoPortal(
  connection: DemoConnection,
  signal: AbortSignal,
  perSecond = 5,
): Promise<void> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    while (!signal.aborted) {
      await oneChange(client);
      await new Promise((done) => setTimeout(done, 1000 / perSecond));
    }
  } finally {
    await client.end();
  }
}
