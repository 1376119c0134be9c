-- One database per service: no service reads another's tables.
CREATE DATABASE orders;
CREATE DATABASE inventory;
CREATE DATABASE email;
CREATE DATABASE analytics;
CREATE DATABASE payments;
CREATE DATABASE fraud;
