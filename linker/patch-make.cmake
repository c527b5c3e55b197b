# linker/patch-make.cmake - libcare-patch-make, a bash script: copied into
# build/bin (it finds ../lib/libcare.so and ../lib/libcare-patched.ld there)
# and installed beside libcare-mkpatch (it then finds the plugin in GCC's
# plugin directory and share/libcare/libcare-patched.ld).
configure_file(${CMAKE_CURRENT_LIST_DIR}/libcare-patch-make
               ${CMAKE_BINARY_DIR}/bin/libcare-patch-make COPYONLY)
install(PROGRAMS ${CMAKE_CURRENT_LIST_DIR}/libcare-patch-make
        DESTINATION ${CMAKE_INSTALL_BINDIR})
# Its manual page, docs/man/libcare-patch-make.1, is installed by docs/.
# libcare-pkgbuild (bash too): a live patch for a Debian source package.
configure_file(${CMAKE_CURRENT_LIST_DIR}/libcare-pkgbuild
               ${CMAKE_BINARY_DIR}/bin/libcare-pkgbuild COPYONLY)
install(PROGRAMS ${CMAKE_CURRENT_LIST_DIR}/libcare-pkgbuild
        DESTINATION ${CMAKE_INSTALL_BINDIR})
