-- Orthanc's index lives in its own database next to Nadir's (Debian/official plugin:
-- OrthancPostgreSQLIndex); both Orthanc services of the compose file share it.
CREATE DATABASE orthanc OWNER nadir;
