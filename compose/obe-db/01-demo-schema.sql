-- OBE demo schema for the compose stack (runs once, on an empty data volume).
USE obe_v8;

CREATE TABLE IF NOT EXISTS franchises (
  id          INT UNSIGNED  NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name        VARCHAR(200)  NOT NULL,
  region      VARCHAR(50)   NULL,
  created_at  DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at  DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS bookings (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  franchise_id  INT UNSIGNED    NOT NULL,
  amount        DECIMAL(12,2)   NOT NULL,
  notes         JSON            NULL,
  booked_at     DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT fk_bookings_franchise FOREIGN KEY (franchise_id) REFERENCES franchises (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO franchises (name, region) VALUES ('North Shore', 'north'), ('Harbour City', 'south');
INSERT INTO bookings (franchise_id, amount, notes) VALUES (1, 199.00, JSON_OBJECT('source', 'demo'));
