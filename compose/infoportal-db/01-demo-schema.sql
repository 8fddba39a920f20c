-- Info Portal demo schema for the compose stack (runs once, on an empty data volume).
-- Tributary creates its own publication and replication slot (tributary_infoportal); this file
-- only gives it something to capture.

CREATE TABLE IF NOT EXISTS public.customers (
  id          bigserial PRIMARY KEY,
  name        text        NOT NULL,
  email       text,
  attributes  jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.orders (
  id           bigserial PRIMARY KEY,
  customer_id  bigint        NOT NULL REFERENCES public.customers (id),
  total        numeric(12,2) NOT NULL,
  status       text          NOT NULL DEFAULT 'new',
  placed_at    timestamptz   NOT NULL DEFAULT now()
);

-- Full before-images for updates and deletes.
ALTER TABLE public.customers REPLICA IDENTITY FULL;
ALTER TABLE public.orders REPLICA IDENTITY FULL;

INSERT INTO public.customers (name, email) VALUES
  ('Acme Plumbing', 'office@acme.example'),
  ('Birch Electric', 'hello@birch.example');
INSERT INTO public.orders (customer_id, total, status) VALUES
  (1, 120.00, 'new'),
  (2, 75.50, 'paid');
