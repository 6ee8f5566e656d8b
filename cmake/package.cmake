# The Debian package (CPack's DEB generator): `cmake --build build --target
# package` or deploy/build-deb.sh make build/mlq_VERSION_ARCH.deb.
# Dependencies come from the binaries (dpkg-shlibdeps, package dpkg-dev);
# the maintainer scripts under deploy/debian make the system user mlq and
# /var/lib/mlq (docs/admin.md, "Installing the Debian package").
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mlq)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed job scheduler for machine-learning work")
set(CPACK_PACKAGE_DESCRIPTION
  "mlq queues training and batch-scoring jobs with their CPU, memory and GPU
requests, places them on worker daemons and keeps every job's state in
SQLite. This package holds the scheduler, the worker, the command-line
client, their systemd units, man pages and bash completion.")
set(MLQ_PACKAGE_MAINTAINER "mlq maintainers <mlq@localhost>" CACHE STRING
  "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${MLQ_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# passwd: useradd/userdel in the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
# The units and the configs name /usr/bin, whatever prefix the build has.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build" "/\\\\.git/")

set(MLQ_DEB_DIR ${CMAKE_BINARY_DIR}/debian)
string(REPLACE ";" "\n" MLQ_CONFFILES_TEXT "${MLQ_CONFFILES}")
file(WRITE ${MLQ_DEB_DIR}/conffiles "${MLQ_CONFFILES_TEXT}\n")
foreach(script postinst prerm postrm)
  file(COPY ${PROJECT_SOURCE_DIR}/deploy/debian/${script} DESTINATION ${MLQ_DEB_DIR}
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ
    WORLD_EXECUTE)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/deploy/debian/${script})
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${MLQ_DEB_DIR}/conffiles ${MLQ_DEB_DIR}/postinst ${MLQ_DEB_DIR}/prerm ${MLQ_DEB_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
